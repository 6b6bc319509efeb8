/**
 * PerceptualLoss: values against a direct computation from the extractor, zero for pred ==
 * target, gradients w.r.t. pred finite and non-zero, none for the target, reductions, a frozen
 * loss network (no tf.Variables; an optimizer step moves only the model), and a stable tensor
 * count over repeated loss + gradient steps. Seeded random squeezenet1_1 weights, 32x32 images.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import type { FeatureExtractor } from '../../src/contracts/backbone';
import { normalizeImages } from '../../src/preprocess';
import { PerceptualDistance } from '../../src/perceptual/distance';
import type { PerceptualInputSpec } from '../../src/perceptual/input';
import { PerceptualLoss, type PerceptualCriterion } from '../../src/perceptual/loss';
import { squeezenetBackbones } from '../../../backbones/squeezenet/src/squeezenet';

/** tf.grad for a function of one NHWC batch (tf.grad's signature takes a plain Tensor). */
const grad4 = (f: (x: tf.Tensor4D) => tf.Tensor) => tf.grad((x: tf.Tensor) => f(x as tf.Tensor4D));

const POINTS = ['relu1', 'fire3', 'fire5'];
const INPUT: PerceptualInputSpec = { range: '[0,1]', normalize: 'none' };
const SHAPE: [number, number, number, number] = [2, 32, 32, 3];

let extractor: FeatureExtractor;
let pred: tf.Tensor4D;
let target: tf.Tensor4D;

beforeAll(async () => {
  await initBackend('wasm');
  const variablesBefore = Object.keys(tf.engine().registeredVariables).length;
  extractor = squeezenetBackbones()
    .find((b) => b.id === 'squeezenet1_1')!
    .build({ seed: 3 });
  // the loss network holds plain tensors: nothing an optimizer could find
  expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore);
  pred = tf.randomUniform(SHAPE, 0, 1, 'float32', 11) as tf.Tensor4D;
  target = tf.randomUniform(SHAPE, 0, 1, 'float32', 12) as tf.Tensor4D;
});
afterAll(() => {
  extractor.dispose();
  tf.dispose([pred, target]);
});

const loss = (criterion: PerceptualCriterion, extra: Partial<ConstructorParameters<typeof PerceptualLoss>[0]> = {}) =>
  new PerceptualLoss({ extractor, points: POINTS, criterion, reduction: 'none', input: INPUT, ...extra });

const values = (t: tf.Tensor) => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};

describe('PerceptualLoss', () => {
  it('mse / l1: per sample, the mean over C, H, W of the feature difference, weighted over points', () => {
    const w = [1, 0.5, 2];
    const direct = (criterion: 'mse' | 'l1') =>
      tf.tidy(() => {
        const fp = extractor.extract(normalizeImages(pred, 'none'), POINTS);
        const ft = extractor.extract(normalizeImages(target, 'none'), POINTS);
        return POINTS.map((p, i) => {
          const d = tf.sub(fp.get(p)!, ft.get(p)!);
          return tf.mul(tf.mean(criterion === 'mse' ? tf.square(d) : tf.abs(d), [1, 2, 3]), w[i]);
        })
          .reduce((s, t) => tf.add(s, t))
          .dataSync();
      });
    for (const c of ['mse', 'l1'] as const) {
      const l = loss(c, { pointWeights: w });
      const got = values(l.compute(pred, target));
      const want = direct(c);
      got.forEach((v, n) => expect(Math.abs(v - want[n])).toBeLessThan(1e-5 * want[n]));
      l.dispose();
    }
  });

  it("'distance' is the PerceptualDistance baseline value", () => {
    const l = loss('distance');
    const d = new PerceptualDistance({ extractor, points: POINTS, input: INPUT, variant: 'baseline' });
    const want = values(d.compute(pred, target));
    values(l.compute(pred, target)).forEach((v, n) => expect(v).toBeCloseTo(want[n], 6));
    l.dispose();
    d.dispose();
  });

  it('zero for pred == target, for every criterion', () => {
    for (const c of ['mse', 'l1', 'distance'] as const) {
      const l = loss(c, { reduction: 'sum' });
      expect(values(l.compute(pred, pred.clone()))).toEqual([0]);
      l.dispose();
    }
  });

  it('reductions: none [N], mean and sum scalars', () => {
    const none = values(loss('mse').compute(pred, target));
    const mean = loss('mse', { reduction: 'mean' }).compute(pred, target);
    const sum = loss('mse', { reduction: 'sum' }).compute(pred, target);
    expect(none.length).toBe(2);
    expect(mean.rank).toBe(0);
    expect(values(mean)[0]).toBeCloseTo((none[0] + none[1]) / 2, 6);
    expect(values(sum)[0]).toBeCloseTo(none[0] + none[1], 6);
  });

  it('gradient w.r.t. pred: finite and non-zero on wasm, for every criterion', () => {
    expect(tf.getBackend()).toBe('wasm');
    for (const c of ['mse', 'l1', 'distance'] as const) {
      const l = loss(c, { reduction: 'mean' });
      const g = grad4((x: tf.Tensor4D) => l.compute(x, target) as tf.Scalar)(pred);
      expect(g.dataSync().every(Number.isFinite)).toBe(true);
      expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
      g.dispose();
      l.dispose();
    }
  });

  it('the target gets no gradient, even when it is computed from pred', () => {
    const l = loss('mse', { reduction: 'sum' });
    // target = f(pred): autodiff must not reach pred through the target branch
    const viaPred = grad4((x: tf.Tensor4D) => l.compute(x, tf.mul(x, 0.5) as tf.Tensor4D) as tf.Scalar)(pred);
    const half = tf.tensor(tf.mul(pred, 0.5).dataSync(), SHAPE) as tf.Tensor4D; // an unrelated copy
    const constant = grad4((x: tf.Tensor4D) => l.compute(x, half) as tf.Scalar)(pred);
    expect(Array.from(viaPred.dataSync())).toEqual(Array.from(constant.dataSync()));
    // and w.r.t. the target alone there is no path at all
    expect(() => grad4((t: tf.Tensor4D) => l.compute(pred, t) as tf.Scalar)(target)).toThrow(/Cannot compute gradient/);
    tf.dispose([viaPred, half, constant]);
    l.dispose();
  });

  it('frozen loss network: an optimizer step moves the model, the extractor stays as it was', () => {
    const l = loss('mse', { reduction: 'mean' });
    // a tiny per-channel "model" on the prediction
    const scale = tf.variable(tf.ones([3]), true, 'perceptual_test_scale');
    const model = () => tf.sigmoid(tf.mul(tf.sub(pred, 0.5), scale)) as tf.Tensor4D;
    const probe = () => values(extractor.extract(target, ['relu1']).get('relu1')!);
    const before = probe();
    const { value, grads } = tf.variableGrads(() => l.compute(model(), target) as tf.Scalar);
    expect(Object.keys(grads)).toEqual(['perceptual_test_scale']);
    const opt = tf.train.sgd(0.1);
    opt.applyGradients(grads);
    expect(Array.from(scale.dataSync()).some((v) => v !== 1)).toBe(true);
    expect(probe()).toEqual(before);
    tf.dispose([value, ...Object.values(grads)]);
    opt.dispose();
    scale.dispose();
    l.dispose();
  });

  it('tensor count is stable over 10 loss + gradient iterations', () => {
    for (const c of ['mse', 'distance'] as const) {
      const l = loss(c, { reduction: 'mean' });
      const step = () => {
        const { value, grads } = tf.variableGrads(() => l.compute(tf.mul(pred, w) as tf.Tensor4D, target) as tf.Scalar, [w]);
        tf.dispose([value, ...Object.values(grads)]);
      };
      const w = tf.variable(tf.scalar(0.9), true);
      step(); // warm-up: backend caches
      const start = tf.memory().numTensors;
      const counts: number[] = [];
      for (let i = 0; i < 10; i++) {
        step();
        counts.push(tf.memory().numTensors - start);
      }
      expect(counts).toEqual(new Array(10).fill(0));
      w.dispose();
      l.dispose();
    }
  });

  it('describe() and configuration errors', () => {
    const l = loss('l1', { batchNorm: 'train', pointWeights: [1, 2, 3] });
    expect(l.describe()).toMatchObject({
      kind: 'perceptual-loss',
      backbone: 'squeezenet1_1',
      points: POINTS,
      pointWeights: [1, 2, 3],
      criterion: 'l1',
      reduction: 'none',
      input: { range: '[0,1]', normalize: 'none', resize: null, validate: true },
      batchNorm: 'train',
      weights: { kind: 'random', seed: 3 },
      backend: 'wasm',
    });
    l.dispose();
    expect(() => loss('ssim' as never)).toThrow(/criterion 'ssim'/);
    expect(() => loss('mse', { reduction: 'avg' as never })).toThrow(/reduction 'avg'/);
    const big = tf.tidy(() => tf.mul(pred, 255) as tf.Tensor4D);
    expect(() => loss('mse').compute(big, target)).toThrow(/outside the declared range \[0,1\]/);
    const other = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    expect(() => loss('mse').compute(other, target)).toThrow(/differ in shape/);
    tf.dispose([big, other]);
  });
});
