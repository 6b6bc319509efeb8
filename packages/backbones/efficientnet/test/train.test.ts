import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mulberry32, PerceptualLoss, type FeatureExtractor } from '@dpl/core';
import { efficientnetBackbones } from '../src/efficientnet';

// A training step through EfficientNetV2-S (FusedMBConv and MBConv on the gradient path) with
// BatchNorm on batch statistics, as the reference code runs its loss network: a brightness/contrast
// pair on the prediction learns under an mse loss at E2 + E3 with a flat tensor count. With
// stochastic depth on, target and prediction see different dropped blocks, so that run checks the
// tensor count and finite losses only.
let net: FeatureExtractor;
beforeAll(async () => {
  await initBackend('wasm');
  net = efficientnetBackbones()
    .find((b) => b.id === 'efficientnet_v2_s')!
    .build({ seed: 6 });
});
afterAll(() => net.dispose());

const run = (dropPathRandom?: () => number): number[][] => {
  const loss = new PerceptualLoss({
    extractor: net,
    points: ['E2', 'E3'],
    criterion: 'mse',
    reduction: 'sum',
    batchNorm: 'train',
    dropPathRandom,
    input: { range: '[0,1]', normalize: 'imagenet', validate: false },
  });
  const target = tf.randomUniform([2, 40, 44, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const contrast = tf.variable(tf.scalar(0.4));
  const brightness = tf.variable(tf.scalar(0.2));
  const adam = tf.train.adam(0.05);
  const seen: number[][] = [];
  for (let k = 0; k < 5; k++) {
    const l = adam.minimize(() => loss.compute(tf.add(tf.mul(target, contrast), brightness) as tf.Tensor4D, target) as tf.Scalar, true, [
      contrast,
      brightness,
    ])!;
    seen.push([l.dataSync()[0], tf.memory().numTensors]);
    l.dispose();
  }
  tf.dispose([target, contrast, brightness]);
  adam.dispose();
  loss.dispose();
  return seen;
};

it('efficientnet_v2_s: train-mode loss steps lower the loss; numTensors stays flat', () => {
  const seen = run();
  expect(seen.slice(2).every(([, n]) => n === seen[1][1])).toBe(true);
  expect(seen[4][0]).toBeLessThan(seen[0][0]);
});

it('efficientnet_v2_s: with stochastic depth on, losses stay finite and numTensors flat', () => {
  const seen = run(mulberry32(11));
  expect(seen.slice(2).every(([, n]) => n === seen[1][1])).toBe(true);
  expect(seen.every(([l]) => Number.isFinite(l) && l > 0)).toBe(true);
});
