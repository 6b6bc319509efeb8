import { backboneContract, initBackend } from '@dpl/core';
import { efficientnetBackbones } from '../src/efficientnet';

beforeAll(async () => {
  await initBackend('wasm');
});

// the study's two members; B1..B6 share the code (their graphs are checked in efficientnet.test.ts
// and against torchvision in parity.test.ts)
for (const b of efficientnetBackbones().filter((x) => ['efficientnet_b0', 'efficientnet_b7'].includes(x.id))) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b)) it(c.name, c.run);
  });
}
