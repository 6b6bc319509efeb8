import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mulberry32, type FeatureExtractor } from '@dpl/core';
import { bceWithLogits, iterativeLoss, maskFeatures, maskToNetworkInput } from '../src/loss';
import { lossNetwork } from './helpers';

let squeeze: FeatureExtractor;
let effnet: FeatureExtractor;

beforeAll(async () => {
  await initBackend('wasm');
  squeeze = lossNetwork('squeezenet1_1', 1);
  effnet = lossNetwork('efficientnet_b0', 1);
});
afterAll(() => {
  squeeze.dispose();
  effnet.dispose();
});

function rand4(shape: [number, number, number, number], seed: number, f: (u: number) => number): tf.Tensor4D {
  const r = mulberry32(seed);
  const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < d.length; i++) d[i] = f(r());
  return tf.tensor4d(d, shape);
}

const scalar = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

describe('segmentation loss', () => {
  it('BCE from logits equals -(y log p + (1-y) log(1-p)) with p = sigmoid(z), computed in float64', () => {
    const zs = [-9, -3, -0.5, 0, 0.7, 2.5, 8];
    const ys = [0, 1, 0.3, 1, 0, 0.5, 1];
    let ref = 0;
    zs.forEach((z, i) => {
      const p = 1 / (1 + Math.exp(-z));
      ref += -(ys[i] * Math.log(p) + (1 - ys[i]) * Math.log(1 - p)) / zs.length;
    });
    const got = scalar(bceWithLogits(tf.tensor1d(zs), tf.tensor1d(ys)));
    expect(Math.abs(got - ref)).toBeLessThan(1e-6);
  });

  it('feeds the loss network the mask as 3 identical channels with ImageNet mean/std', () => {
    const x = maskToNetworkInput(tf.tensor4d([0, 1], [1, 1, 2, 1]));
    const v = Array.from(x.dataSync());
    x.dispose();
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const want = [0, 1].flatMap((m) => mean.map((mu, c) => (m - mu) / std[c]));
    v.forEach((a, i) => expect(a).toBeCloseTo(want[i], 5));
  });

  it('is sum_i (i+1)/(K(K+1)/2) [BCE_i + mu * mean over points of feature MSE_i]', () => {
    const points = ['relu1', 'fire2'];
    const term = { net: squeeze, points, mode: 'eval' as const };
    const gt = rand4([2, 32, 32, 1], 3, (u) => (u < 0.2 ? 1 : 0));
    const logits = [1, 2, 3].map((s) => rand4([2, 32, 32, 1], 10 + s, (u) => 6 * u - 3));
    const gtf = maskFeatures(gt, term);
    const mu = 0.5;
    const got = scalar(iterativeLoss({ logits, gt, gtFeatures: gtf, mu, term }));
    const bceOnly = scalar(iterativeLoss({ logits, gt, gtFeatures: gtf, mu: 0, term }));
    // independent route: normalise by hand, extract, average the per-point MSEs
    const mean = tf.tensor1d([0.485, 0.456, 0.406]);
    const std = tf.tensor1d([0.229, 0.224, 0.225]);
    const feats = (m: tf.Tensor4D) => squeeze.extract(tf.div(tf.sub(tf.concat([m, m, m], 3), mean), std) as tf.Tensor4D, points);
    let want = 0;
    let wantBce = 0;
    const gtFeats = feats(gt);
    logits.forEach((z, i) => {
      const pf = feats(tf.sigmoid(z) as tf.Tensor4D);
      const mse =
        points.map((p) => scalar(tf.mean(tf.square(tf.sub(pf.get(p)!, gtFeats.get(p)!))))).reduce((a, b) => a + b) / points.length;
      const bce = scalar(bceWithLogits(z, gt));
      want += ((i + 1) / 6) * (bce + mu * mse);
      wantBce += ((i + 1) / 6) * bce;
    });
    expect(Math.abs(bceOnly - wantBce)).toBeLessThan(1e-5);
    expect(Math.abs(got - want) / want).toBeLessThan(1e-5);
    expect(got - bceOnly).toBeGreaterThan(1e-4);
  });

  it('lossNetworkMode train uses batch statistics in a BatchNorm loss network (efficientnet_b0) and changes nothing without BatchNorm (squeezenet1_1)', () => {
    const mask = rand4([2, 32, 32, 1], 4, (u) => (u < 0.3 ? 1 : 0));
    const diff = (net: FeatureExtractor, point: string) =>
      tf.tidy(() => {
        const a = maskFeatures(mask, { net, points: [point], mode: 'eval' })[0];
        const b = maskFeatures(mask, { net, points: [point], mode: 'train' })[0];
        return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
      });
    expect(diff(effnet, 'stage1')).toBeGreaterThan(1e-3);
    expect(diff(squeeze, 'fire2')).toBe(0);
  });

  it('the perceptual term sends a gradient to the predictions, and leaves no tensors behind', () => {
    const term = { net: effnet, points: ['stage1'], mode: 'eval' as const };
    const gt = rand4([2, 32, 32, 1], 5, (u) => (u < 0.2 ? 1 : 0));
    const z = rand4([2, 32, 32, 1], 6, (u) => 4 * u - 2);
    const gtf = maskFeatures(gt, term);
    const g = (mu: number) => tf.grad((x: tf.Tensor) => iterativeLoss({ logits: [x as tf.Tensor4D], gt, gtFeatures: gtf, mu, term }))(z);
    // the frozen network caches its backward kernels on the first backward pass (owned by the network)
    g(1).dispose();
    const before = tf.memory().numTensors;
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(g(1), g(0)))).dataSync()[0]);
    expect(d).toBeGreaterThan(1e-7);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([gt, z, ...gtf]);
  });
});
