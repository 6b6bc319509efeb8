import { initBackend, type FeatureExtractor } from '@dpl/core';
import { perceptualTrainingSteps } from '@dpl/core/testkit';
import { mobilenetBackbones } from '../src/mobilenet';

// A training step through the family: a per-channel gain on the prediction learns to match the
// target under a perceptual loss at mobilenet_v3_small's E2 and E3 (hardswish, ReLU and the
// hardsigmoid SE gates all on the gradient path); the tensor count stays flat across steps.
let net: FeatureExtractor;
beforeAll(async () => {
  await initBackend('wasm');
  net = mobilenetBackbones()
    .find((b) => b.id === 'mobilenet_v3_small')!
    .build({ seed: 4 });
  // the extractor keeps per-layer caches it makes on first use (released by dispose): warm them up
  perceptualTrainingSteps(net, { points: ['E4'], steps: 1 });
});
afterAll(() => net.dispose());

it('mobilenet_v3_small: perceptual-loss steps lower the loss; tensor count flat, nothing left over', () => {
  const r = perceptualTrainingSteps(net, { points: ['E2', 'E3'] });
  expect(r.counts.slice(1).every((n) => n === r.counts[1])).toBe(true);
  expect(r.leaked).toBe(0);
  expect(r.losses.every(Number.isFinite) && r.losses[4] < r.losses[0]).toBe(true);
});
