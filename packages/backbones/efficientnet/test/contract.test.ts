import { backboneContract, initBackend, type ContractOptions } from '@dpl/core';
import { efficientnetBackbones } from '../src/efficientnet';

beforeAll(async () => {
  await initBackend('wasm');
});

// The study's two members and V2-S (FusedMBConv); B1..B6 and V2-M/L share the code (their graphs are
// checked in efficientnet.test.ts / efficientnet-v2.test.ts and against torchvision in parity.test.ts).
// B7 (64M parameters) probes one 32x32 image (and 96x96 for the stride) to stay cheap.
const OPTS: Record<string, ContractOptions> = {
  efficientnet_b0: {},
  efficientnet_b7: { batch: 1, size: 32 },
  efficientnet_v2_s: { batch: 1 },
};

for (const b of efficientnetBackbones().filter((x) => x.id in OPTS)) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b, OPTS[b.id])) it(c.name, c.run);
  });
}
