/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness: GoogLeNet and Inception v3, every paper
 * point plus the end of each graph. The checkpoint keeps fc (dropPrefixes: []) so the ignore list
 * is exercised.
 */
import { initBackend } from '@dpl/core';
import { backboneParity, type Size } from '@dpl/core/testkit';
import { inceptionBackbones } from '../src/inception';

/**
 * googlenet: 64 and 67x79 between them make every ceil-mode max pool hang over the input edge
 * (67x79: all four pools on the width); 15x17 is torchvision's minimum, where maxpool3 and
 * maxpool4 get inputs smaller than their kernels. inception_v3 needs >= 75 px for Mixed_7a..7c.
 */
const SIZES: Record<string, Size[]> = {
  googlenet: [
    [64, 64],
    [67, 79],
    [15, 17],
  ],
  inception_v3: [
    [80, 80],
    [83, 91],
  ],
};
/** Beyond the paper points: the graph's last block (Mixed_7c covers InceptionD and E). */
const EXTRA: Record<string, string[]> = { googlenet: [], inception_v3: ['Mixed_6a', 'Mixed_7c'] };

beforeAll(async () => {
  await initBackend('wasm');
});

const cases = backboneParity({
  backbones: inceptionBackbones(),
  points: (b) => [...b.resolvePoints('paper').map((p) => p.name), ...EXTRA[b.id]],
  sizes: (b) => SIZES[b.id],
  defaultSize: (b) => (b.id === 'inception_v3' ? [299, 299] : [224, 224]),
  dropPrefixes: [],
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
