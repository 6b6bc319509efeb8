import { backboneContract, initBackend } from '@dpl/core';
import { vggBackbones } from '../src/vgg';

beforeAll(async () => {
  await initBackend('wasm');
});

for (const b of vggBackbones().filter((x) => ['vgg11', 'vgg16_bn'].includes(x.id))) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b)) it(c.name, c.run);
  });
}
