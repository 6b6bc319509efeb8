import { initBackend, type FeatureExtractor } from '@dpl/core';
import { perceptualTrainingSteps } from '@dpl/core/testkit';
import { regnetBackbones } from '../src/regnet';

// A training step through the family: regnet_y_400mf (grouped convs, SE gates, projection
// shortcuts on the gradient path): a per-channel gain on the prediction learns under a perceptual
// loss at E2 and E4 with a flat tensor count.
let net: FeatureExtractor;
beforeAll(async () => {
  await initBackend('wasm');
  net = regnetBackbones()
    .find((b) => b.id === 'regnet_y_400mf')!
    .build({ seed: 2 });
  // the extractor keeps per-layer caches it makes on first use (released by dispose): warm them up
  perceptualTrainingSteps(net, { points: ['E4'], steps: 1 });
});
afterAll(() => net.dispose());

it('regnet_y_400mf: loss steps lower the loss; numTensors stays flat', () => {
  const { losses, counts, leaked } = perceptualTrainingSteps(net, { points: ['E2', 'E4'], size: [64, 48] });
  expect(counts.slice(1)).toEqual(counts.slice(1).map(() => counts[1]));
  expect(leaked).toBe(0);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
});
