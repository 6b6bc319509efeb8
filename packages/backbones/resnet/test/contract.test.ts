import { backboneContract, initBackend } from '@dpl/core';
import { resnetBackbones } from '../src/resnet';

beforeAll(async () => {
  await initBackend('wasm');
});

// the three study networks: BasicBlock, Bottleneck and grouped Bottleneck (ResNeXt)
for (const b of resnetBackbones().filter((x) => x.metadata.inStudy)) {
  describe(`${b.id} contract`, () => {
    for (const c of backboneContract(b)) it(c.name, c.run);
  });
}
