import { backboneContract, initBackend, type ContractOptions } from '@dpl/core';
import { convnextBackbones } from '../src/convnext';

beforeAll(async () => {
  await initBackend('wasm');
});

// tiny, and large (the widest: 197M parameters) on one small image; small and base are the same
// code between them (their graphs are checked in convnext.test.ts, their features in parity.test.ts).
const OPTS: Record<string, ContractOptions> = { convnext_tiny: {}, convnext_large: { batch: 1, size: 32 } };

for (const b of convnextBackbones().filter((x) => x.id in OPTS)) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b, OPTS[b.id])) it(c.name, c.run);
  });
}
