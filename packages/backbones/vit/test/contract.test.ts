import { backboneContract, initBackend } from '@dpl/core';
import { vitBackbones } from '../src/vit';

beforeAll(async () => {
  await initBackend('wasm');
});

// The contract on the two base networks (86M and 88M parameters) at their default points; the
// large and huge ones (300M and 630M) are the same code with other sizes (vit.test.ts checks their
// graphs, parity.test.ts runs them with DPL_PARITY_FULL=1). One image keeps the probes cheap.
for (const b of vitBackbones().filter((x) => x.id === 'vit_b_16' || x.id === 'vit_b_32')) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b, { batch: 1 })) it(c.name, c.run);
  });
}
