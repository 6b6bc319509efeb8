import * as tf from '@tensorflow/tfjs-core';
import { IMAGENET_MEAN, IMAGENET_STD, initBackend, type FeatureExtractor } from '@dpl/core';
import { ReconstructionLoss } from '../src/loss';
import { lossNetwork } from './helpers';

let effnet: FeatureExtractor;
let x: tf.Tensor4D;
let recon: tf.Tensor4D;

beforeAll(async () => {
  await initBackend('wasm');
  effnet = lossNetwork('efficientnet_b0');
  x = tf.randomUniform([3, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  recon = tf.randomUniform([3, 64, 64, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
});
afterAll(() => {
  tf.dispose([x, recon]);
  effnet.dispose();
});

const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

/** The MSE of features at `point` computed here, by hand. */
function expectedMse(net: FeatureExtractor, point: string, normalize: boolean, batchNorm: 'eval' | 'train'): number {
  return tf.tidy(() => {
    const prep = (t: tf.Tensor4D) => (normalize ? (tf.div(tf.sub(t, IMAGENET_MEAN), IMAGENET_STD) as tf.Tensor4D) : t);
    const a = net.extract(prep(recon), [point], { batchNorm }).get(point)!;
    const b = net.extract(prep(x), [point], { batchNorm }).get(point)!;
    const d = tf.sub(a, b).dataSync();
    let s = 0;
    for (const v of d) s += v * v;
    return s / d.length;
  });
}

describe('reconstruction loss', () => {
  it('pixel: mean squared pixel difference', () => {
    const loss = new ReconstructionLoss({ kind: 'pixel', extractor: effnet, points: [], normalize: 'none', batchNorm: 'eval' });
    const t = loss.targets(x);
    const a = recon.dataSync();
    const b = x.dataSync();
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
    // float32 reductions over 37k values: relative agreement to ~1e-6
    expect(Math.abs(value(loss.loss(recon, t)) - s / a.length) / (s / a.length)).toBeLessThan(1e-5);
    tf.dispose(t);
    expect(loss.describe()).toMatchObject({ kind: 'pixel', backbone: null, points: [] });
  });

  it.each([
    ['none', 'eval'],
    ['imagenet', 'eval'],
    ['none', 'train'],
  ] as const)('perceptual (normalize %s, lossNetworkMode %s): MSE of the loss network features', (normalize, mode) => {
    const loss = new ReconstructionLoss({ kind: 'perceptual', extractor: effnet, points: ['stem'], normalize, batchNorm: mode });
    const t = loss.targets(x);
    const got = value(loss.loss(recon, t));
    const per = loss.perImage(recon, t);
    expect(per.shape).toEqual([3]);
    expect(Math.abs(value(tf.mean(per)) - got) / got).toBeLessThan(1e-4);
    per.dispose();
    tf.dispose(t);
    // float32 sums over 3 x 32 x 32 x 32 features in different orders: relative 1e-4
    const want = expectedMse(effnet, 'stem', normalize === 'imagenet', mode);
    expect(Math.abs(got - want) / want).toBeLessThan(1e-4);
  });

  it("lossNetworkMode 'train' uses batch statistics (differs from eval on a BatchNorm network)", () => {
    const evalLoss = new ReconstructionLoss({
      kind: 'perceptual',
      extractor: effnet,
      points: ['stem'],
      normalize: 'none',
      batchNorm: 'eval',
    });
    const trainLoss = new ReconstructionLoss({
      kind: 'perceptual',
      extractor: effnet,
      points: ['stem'],
      normalize: 'none',
      batchNorm: 'train',
    });
    const [te, tt] = [evalLoss.targets(x), trainLoss.targets(x)];
    const a = value(evalLoss.loss(recon, te));
    const b = value(trainLoss.loss(recon, tt));
    console.log(`efficientnet_b0 stem feature MSE, random weights: eval ${a}, train-mode BatchNorm ${b}`);
    expect(Math.abs(a - b) / a).toBeGreaterThan(1e-3);
    tf.dispose([...te, ...tt]);
    expect(trainLoss.describe()).toMatchObject({
      kind: 'perceptual',
      backbone: 'efficientnet_b0',
      points: ['stem'],
      lossNetworkMode: 'train',
    });
  });

  it('differentiates w.r.t. the reconstruction only', () => {
    const loss = new ReconstructionLoss({ kind: 'perceptual', extractor: effnet, points: ['stem'], normalize: 'none', batchNorm: 'eval' });
    const t = loss.targets(x);
    const g = tf.grad((r: tf.Tensor) => loss.loss(r as tf.Tensor4D, t))(recon);
    expect(g.shape).toEqual(recon.shape);
    expect(value(tf.max(tf.abs(g)))).toBeGreaterThan(0);
    g.dispose();
    tf.dispose(t);
  });
});
