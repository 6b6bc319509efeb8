/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness. B0 and B7 (the study's members): every
 * paper point plus the head (features.8); B1..B6 share the code, so one middle stage and the head
 * each (the head runs every block, the depthwise convs and BN eps of the variant). Small sizes keep
 * B7 cheap; 67x75 is odd and not a multiple of 32 (stride-2 rounding).
 */
import { initBackend } from '@dpl/core';
import { backboneParity } from '@dpl/core/testkit';
import { efficientnetBackbones } from '../src/efficientnet';

beforeAll(async () => {
  await initBackend('wasm');
});

const cases = backboneParity({
  backbones: efficientnetBackbones(),
  points: (b) => (b.metadata.inStudy ? [...b.resolvePoints('paper').map((p) => p.name), 'head'] : ['stage3', 'head']),
  // the study's networks always; their siblings with DPL_PARITY_FULL=1 (CI time: every fixture is a torch run)
  quick: (b) => b.metadata.inStudy,
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
