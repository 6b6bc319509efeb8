import * as tf from '@tensorflow/tfjs-core';
import { initBackend, PerceptualLoss, type FeatureExtractor } from '@dpl/core';
import { vitBackbones } from '../src/vit';

// A training step through the family: a per-channel gain on the prediction learns to match the
// target under a perceptual loss at vit_b_16's E1 and E2 (the patch conv, class token, resized
// positional embedding and three blocks of attention, LayerNorm and GELU on the gradient path); the
// tensor count stays flat across steps. 48x64 inputs: a 3x4 patch grid, not the trained 14x14 and
// not square. (E2: each block's input gradient costs ~0.8 s on wasm, mostly the transposed-weight
// matrix products.)
let net: FeatureExtractor;
beforeAll(async () => {
  await initBackend('wasm');
  net = vitBackbones()
    .find((b) => b.id === 'vit_b_16')!
    .build({ seed: 4 });
});
afterAll(() => net.dispose());

it('vit_b_16: perceptual-loss steps lower the loss with a flat tf.memory().numTensors', () => {
  const loss = new PerceptualLoss({
    extractor: net,
    points: ['E1', 'E2'],
    criterion: 'mse',
    reduction: 'mean',
    input: { range: '[0,1]', normalize: 'imagenet' },
  });
  const target = tf.randomUniform([2, 48, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const gain = tf.variable(tf.fill([1, 1, 1, 3], 0.3));
  const opt = tf.train.adam(0.05);
  const losses: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const cost = opt.minimize(() => loss.compute(tf.mul(target, gain) as tf.Tensor4D, target) as tf.Scalar, true, [gain])!;
    losses.push(cost.dataSync()[0]);
    cost.dispose();
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts.slice(1)).size).toBe(1);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[4]).toBeLessThan(losses[0]);
  tf.dispose([target, gain]);
  opt.dispose();
  loss.dispose();
});
