import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mulberry32, type FeatureExtractor } from '@dpl/core';
import { perceptualTrainingSteps } from '@dpl/core/testkit';
import { convnextBackbones } from '../src/convnext';

// A training step through the family: a per-channel gain on the prediction learns to match the
// target under a perceptual loss at convnext_tiny's E2 and E3 (depthwise 7x7 convs, LayerNorm,
// GELU MLPs, layer scales and downsampling on the gradient path); the tensor count stays flat
// across steps, in eval mode and with train-mode stochastic depth (which really drops branches).
let net: FeatureExtractor;
beforeAll(async () => {
  await initBackend('wasm');
  net = convnextBackbones()
    .find((b) => b.id === 'convnext_tiny')!
    .build({ seed: 4 });
});
afterAll(() => net.dispose());

it('convnext_tiny: perceptual-loss steps lower the loss with a flat tf.memory().numTensors', () => {
  const { losses, counts, leaked } = perceptualTrainingSteps(net, { points: ['E2', 'E3'] });
  expect(new Set(counts.slice(1)).size).toBe(1);
  expect(leaked).toBe(0);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[4]).toBeLessThan(losses[0]);
});

it('convnext_tiny: the same with train-mode stochastic depth (seeded drops), tensor count flat', () => {
  const { losses, counts, leaked } = perceptualTrainingSteps(net, {
    points: ['E2', 'E3'],
    batchNorm: 'train',
    dropPathRandom: mulberry32(9),
  });
  expect(new Set(counts.slice(1)).size).toBe(1);
  expect(leaked).toBe(0);
  expect(losses.every(Number.isFinite)).toBe(true);
});

it('convnext_tiny: stochastic depth is the identity in eval mode and drops branches in train mode', async () => {
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const run = async (opts: Parameters<FeatureExtractor['extract']>[2]) => {
    const out = net.extract(x, ['stage1'], opts);
    const v = (await out.get('stage1')!.data()) as Float32Array;
    tf.dispose([...out.values()]);
    return v;
  };
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const plain = await run({ batchNorm: 'eval' });
  expect(maxDiff(await run({ batchNorm: 'eval', dropPathRandom: () => 0.999999 }), plain)).toBe(0);
  // stage1's blocks 1 and 2 carry p = 0.1/17 and 0.2/17: a source that always drops changes the output
  expect(maxDiff(await run({ batchNorm: 'train', dropPathRandom: () => 0.999999 }), plain)).toBeGreaterThan(1e-3);
  x.dispose();
});
