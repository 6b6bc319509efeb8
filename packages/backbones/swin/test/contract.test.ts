import { backboneContract, initBackend, type ContractOptions } from '@dpl/core';
import { swinBackbones } from '../src/swin';

beforeAll(async () => {
  await initBackend('wasm');
});

// swin_t at the default probe (64x64: windows padded, shifts dropped in the last stages); swin_b
// (88M parameters) on one 32x32 image. swin_s is swin_t's code with swin_b's depths.
const OPTS: Record<string, ContractOptions> = { swin_t: {}, swin_b: { batch: 1, size: 32 } };

for (const b of swinBackbones().filter((x) => x.id in OPTS)) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b, OPTS[b.id])) it(c.name, c.run, 120_000);
  });
}
