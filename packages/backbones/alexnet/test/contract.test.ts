import { backboneContract, initBackend } from '@dpl/core';
import { alexnetBackbones } from '../src/alexnet';

beforeAll(async () => {
  await initBackend('wasm');
});

for (const b of alexnetBackbones()) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b)) it(c.name, c.run);
  });
}
