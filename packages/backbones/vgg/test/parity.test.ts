/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness: every VGG variant, every paper point
 * (or, for variants outside the study, the first ReLU of each block), at an even and an odd size.
 */
import { initBackend } from '@dpl/core';
import { backboneParity } from '@dpl/core/testkit';
import { vggBackbones } from '../src/vgg';

beforeAll(async () => {
  await initBackend('wasm');
});

const cases = backboneParity({
  backbones: vggBackbones(),
  points: (b) => {
    const paper = b.points().filter((p) => p.paper);
    return (paper.length ? paper : b.points().filter((p) => /^relu\d_1$/.test(p.name))).map((p) => p.name);
  },
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
