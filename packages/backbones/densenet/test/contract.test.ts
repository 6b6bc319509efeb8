import { backboneContract, initBackend } from '@dpl/core';
import { densenetBackbones } from '../src/densenet';

beforeAll(async () => {
  await initBackend('wasm');
});

// densenet121 is the study member; the other variants share its code path and are covered by parity
for (const b of densenetBackbones().filter((x) => x.metadata.inStudy)) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b)) it(c.name, c.run);
  });
}
