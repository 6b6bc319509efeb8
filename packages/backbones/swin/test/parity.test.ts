/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness, at the outputs of torchvision's modules
 * (forward hooks; Swin's maps are N,H,W,C already). Per network: the four default points, an odd
 * block (shifted windows), the first patch merging and the final norm. 64x64 pads every window
 * (16x16 -> 21x21) and drops the shift where a padded map is one window (stages 3 and 4); 67x75 adds
 * odd maps for the patch mergings (16x18 -> 8x9 -> 4x5 -> 2x3) and unequal padding.
 */
import { initBackend } from '@dpl/core';
import { backboneParity } from '@dpl/core/testkit';
import { swinBackbones } from '../src/swin';

beforeAll(async () => {
  await initBackend('wasm');
});

const cases = backboneParity({
  backbones: swinBackbones(),
  points: (b) => [...b.resolvePoints('paper').map((p) => p.name), 'stage2.0', 'stage3.4', 'merge1', 'norm'],
  torchLayout: 'nhwc',
  // swin_t always; swin_s and swin_b (the same code, deeper and wider) with DPL_PARITY_FULL=1
  quick: (b) => b.id === 'swin_t',
  slowReason: 'swin_s and swin_b share swin_t code',
  dropPrefixes: ['head.'],
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
