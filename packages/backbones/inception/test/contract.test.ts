import { backboneContract, initBackend } from '@dpl/core';
import { inceptionBackbones } from '../src/inception';

beforeAll(async () => {
  await initBackend('wasm');
});

for (const b of inceptionBackbones()) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b)) it(c.name, c.run);
  });
}
