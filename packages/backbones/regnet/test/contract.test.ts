import { backboneContract, initBackend } from '@dpl/core';
import { regnetBackbones } from '../src/regnet';

beforeAll(async () => {
  await initBackend('wasm');
});

// the smallest RegNetY (squeeze-excitation) and RegNetX (none); the others share the code
for (const b of regnetBackbones().filter((x) => x.id.endsWith('_400mf'))) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b)) it(c.name, c.run);
  });
}
