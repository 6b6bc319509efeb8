/**
 * Training through Swin as a frozen loss network: a tiny per-channel model on the prediction learns
 * from a perceptual loss at two points (gradients through layer norms, windowed attention with and
 * without shift, GELU MLPs and patch merging), with a flat tensor count per step; and the train-mode
 * stochastic depth of torchvision's blocks. Seeded random swin_t weights, 32x32 images (8x8 tokens
 * padded to 14x14 windows in stage 1).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mulberry32, PerceptualLoss, type FeatureExtractor } from '@dpl/core';
import { swinBackbones } from '../src/swin';

const swinT = swinBackbones().find((b) => b.id === 'swin_t')!;
const POINTS = ['stage1', 'stage3.1'];

let net: FeatureExtractor;
let source: tf.Tensor4D;
let target: tf.Tensor4D;
beforeAll(async () => {
  await initBackend('wasm');
  net = swinT.build({ seed: 1 });
  source = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  target = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
});
afterAll(() => {
  net.dispose();
  tf.dispose([source, target]);
});

/** Adam steps on a per-channel scale and shift of the source image; the loss per step and the tensor count after each. */
function train(loss: PerceptualLoss, steps: number): { losses: number[]; counts: number[] } {
  const scale = tf.variable(tf.ones([3]), true, `swin_train_scale_${loss.batchNorm}`);
  const shift = tf.variable(tf.zeros([3]), true, `swin_train_shift_${loss.batchNorm}`);
  const opt = tf.train.adam(0.05);
  const losses: number[] = [];
  const counts: number[] = [];
  const model = () => tf.sigmoid(tf.add(tf.mul(tf.sub(source, 0.5), scale), shift)) as tf.Tensor4D;
  for (let i = 0; i < steps; i++) {
    const value = opt.minimize(() => loss.compute(model(), target) as tf.Scalar, true, [scale, shift])!;
    losses.push(value.dataSync()[0]);
    value.dispose();
    counts.push(tf.memory().numTensors);
  }
  opt.dispose();
  tf.dispose([scale, shift]);
  return { losses, counts };
}

describe('training through swin_t', () => {
  it('a perceptual loss at stage1 and stage3.1 decreases over Adam steps with a flat tensor count', () => {
    const loss = new PerceptualLoss({
      extractor: net,
      points: POINTS,
      criterion: 'mse',
      reduction: 'mean',
      input: { range: '[0,1]', normalize: 'imagenet' },
    });
    const { losses, counts } = train(loss, 5);
    loss.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[4]).toBeLessThan(losses[0]);
    // the first step creates Adam's moment variables; every later one leaves the count as it was
    expect(counts.slice(2)).toEqual(new Array<number>(3).fill(counts[1]));
  });

  it('train mode with stochastic depth: finite steps, flat tensor count', () => {
    const loss = new PerceptualLoss({
      extractor: net,
      points: POINTS,
      criterion: 'l1',
      reduction: 'mean',
      input: { range: '[0,1]', normalize: 'imagenet' },
      batchNorm: 'train',
      dropPathRandom: mulberry32(3),
    });
    const { losses, counts } = train(loss, 4);
    loss.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(counts.slice(2)).toEqual(new Array<number>(2).fill(counts[1]));
  });

  it('stochastic depth is off in eval mode, seeded in train mode, and drops residual branches', async () => {
    const run = async (opts: Parameters<FeatureExtractor['extract']>[2]): Promise<Float32Array> => {
      const out = net.extract(source, ['stage4'], opts);
      const v = (await out.get('stage4')!.data()) as Float32Array;
      tf.dispose([...out.values()]);
      return v;
    };
    const maxDiff = (a: Float32Array, c: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - c[i])), 0);
    const evalA = await run({ batchNorm: 'eval', dropPathRandom: mulberry32(1) });
    expect(maxDiff(evalA, await run({ batchNorm: 'eval' }))).toBe(0);
    const trainNoDrop = await run({ batchNorm: 'train' });
    // swin has no BatchNorm: train mode without a random source is eval mode
    expect(maxDiff(trainNoDrop, evalA)).toBe(0);
    const dropAll = await run({ batchNorm: 'train', dropPathRandom: () => 0.999999 });
    expect(maxDiff(dropAll, trainNoDrop)).toBeGreaterThan(1e-3);
    const seededA = await run({ batchNorm: 'train', dropPathRandom: mulberry32(5) });
    const seededB = await run({ batchNorm: 'train', dropPathRandom: mulberry32(5) });
    expect(maxDiff(seededA, seededB)).toBe(0);
  });
});
