import { backboneContract, initBackend } from '@dpl/core';
import { mobilenetBackbones } from '../src/mobilenet';

beforeAll(async () => {
  await initBackend('wasm');
});

// both networks are small (5.5M and 2.5M parameters): the contract on the default points of each
for (const b of mobilenetBackbones()) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b)) it(c.name, c.run);
  });
}
