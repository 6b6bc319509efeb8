import { initBackend, mulberry32, type FeatureExtractor } from '@dpl/core';
import { perceptualTrainingSteps } from '@dpl/core/testkit';
import { efficientnetBackbones } from '../src/efficientnet';

// A training step through EfficientNetV2-S: in eval mode through its FusedMBConv stages (E2 and
// stage3; the seeded random weights make the deeper features of order 1e5, too rough a landscape for
// five steps to descend), the loss falls; with BatchNorm on batch statistics and seeded stochastic
// depth at E3 (MBConv blocks too; as the reference code runs its loss network) target and prediction
// see different dropped blocks, so that run checks finite losses only. The tensor count stays flat in both.
let net: FeatureExtractor;
beforeAll(async () => {
  await initBackend('wasm');
  net = efficientnetBackbones()
    .find((b) => b.id === 'efficientnet_v2_s')!
    .build({ seed: 6 });
  // the extractor keeps per-layer caches it makes on first use (released by dispose): warm them up
  perceptualTrainingSteps(net, { points: ['E4'], steps: 1 });
});
afterAll(() => net.dispose());

it('efficientnet_v2_s: loss steps lower the loss; numTensors stays flat', () => {
  const run = perceptualTrainingSteps(net, { points: ['E2', 'stage3'] });
  expect(new Set(run.counts.slice(1))).toEqual(new Set([run.counts[1]]));
  expect(run.leaked).toBe(0);
  expect(run.losses[4]).toBeLessThan(run.losses[0]);
});

it('efficientnet_v2_s: train mode with stochastic depth on, losses finite and numTensors flat', () => {
  const run = perceptualTrainingSteps(net, { points: ['E3'], batchNorm: 'train', dropPathRandom: mulberry32(11), steps: 3 });
  expect(new Set(run.counts.slice(1))).toEqual(new Set([run.counts[1]]));
  expect(run.leaked).toBe(0);
  expect(run.losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
});
