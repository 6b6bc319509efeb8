/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness. B0 and B7 (the study's members): every
 * paper point plus the head (features.8); B1..B6 share the code, so one middle stage and the head
 * each (the head runs every block, the depthwise convs and BN eps of the variant). V2-S by default,
 * V2-M and V2-L with DPL_PARITY_FULL=1: the default points, a FusedMBConv block and the head. Small sizes keep
 * B7 cheap; 67x75 is odd and not a multiple of 32 (stride-2 rounding).
 */
import { initBackend } from '@dpl/core';
import { backboneParity } from '@dpl/core/testkit';
import { efficientnetBackbones } from '../src/efficientnet';

beforeAll(async () => {
  await initBackend('wasm');
});

// V2 (outside the study): its default points (addressed by torchvision module name), a FusedMBConv
// block inside stage 2 and the head
const v2 = (id: string) => id.startsWith('efficientnet_v2_');
const cases = backboneParity({
  backbones: efficientnetBackbones(),
  points: (b) =>
    b.metadata.inStudy || v2(b.id)
      ? [...b.resolvePoints('paper').map((p) => p.name), ...(v2(b.id) ? ['stage2.1'] : []), 'head']
      : ['stage3', 'head'],
  // the study's networks and V2-S always; their siblings with DPL_PARITY_FULL=1 (CI time: every fixture is a torch run)
  quick: (b) => b.metadata.inStudy || b.id === 'efficientnet_v2_s',
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
