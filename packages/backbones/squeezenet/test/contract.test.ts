import { backboneContract, initBackend } from '@dpl/core';
import { squeezenetBackbones } from '../src/squeezenet';

beforeAll(async () => {
  await initBackend('wasm');
});

for (const b of squeezenetBackbones()) {
  describe(`${b.id} contract`, () => {
    // squeezenet1_0 has no paper points: probe a few block boundaries and the classifier conv
    const opts = b.metadata.inStudy ? {} : { points: ['relu1', 'fire4', 'fire9', 'relu10'] };
    for (const c of backboneContract(b, opts)) it(c.name, c.run);
  });
}
