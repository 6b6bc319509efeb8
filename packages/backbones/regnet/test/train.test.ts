import * as tf from '@tensorflow/tfjs-core';
import { initBackend, PerceptualLoss, type FeatureExtractor } from '@dpl/core';
import { regnetBackbones } from '../src/regnet';

// A training step through the family: regnet_y_400mf (grouped convs, SE gates, projection
// shortcuts on the gradient path) with BatchNorm in train mode as the reference code runs it; a
// per-channel shift of the input learns under an l1 perceptual loss at E2 + E4, with a flat tensor count.
let net: FeatureExtractor;
beforeAll(async () => {
  await initBackend('wasm');
  net = regnetBackbones()
    .find((b) => b.id === 'regnet_y_400mf')!
    .build({ seed: 2 });
});
afterAll(() => net.dispose());

it('regnet_y_400mf: loss steps with batch statistics lower the loss; numTensors stays flat', () => {
  const loss = new PerceptualLoss({
    extractor: net,
    points: ['E2', 'E4'],
    criterion: 'l1',
    reduction: 'mean',
    batchNorm: 'train',
    input: { range: '[0,1]', normalize: 'imagenet', validate: false },
  });
  const target = tf.randomUniform([2, 64, 48, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const shift = tf.variable(tf.tensor4d([0.3, -0.2, 0.25], [1, 1, 1, 3]));
  const optimizer = tf.train.adam(0.05);
  const history: { loss: number; tensors: number }[] = [];
  for (let step = 0; step < 4; step++) {
    const value = optimizer.minimize(() => loss.compute(tf.add(target, shift) as tf.Tensor4D, target) as tf.Scalar, true, [shift])!;
    history.push({ loss: value.dataSync()[0], tensors: tf.memory().numTensors });
    value.dispose();
  }
  expect(history.slice(1).map((h) => h.tensors)).toEqual(history.slice(1).map(() => history[1].tensors));
  expect(history[3].loss).toBeLessThan(history[0].loss);
  tf.dispose([target, shift]);
  optimizer.dispose();
  loss.dispose();
});
