/**
 * PerceptualDistance properties that hold whatever the weights: d(a, a) = 0 exactly, symmetry,
 * feature reuse (2AFC) giving the same numbers, point weights, finite non-zero input gradients on
 * wasm (also behind all-zero feature vectors), provenance, configuration errors; and the LPIPS
 * point table against the backbones' own tap names. Seeded random alexnet weights, 32x32 images.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import type { FeatureExtractor } from '../../src/contracts/backbone';
import type { StateDict } from '../../src/weights/state-dict';
import { PerceptualDistance } from '../../src/perceptual/distance';
import type { PerceptualInputSpec } from '../../src/perceptual/input';
import { LPIPS_POINTS, lpipsBackbone, lpipsLinFromStateDict, type LpipsBackboneId } from '../../src/perceptual/lpips-weights';
import { unitNormalize } from '../../src/perceptual/unit-normalize';
import { alexnet } from '../../../backbones/alexnet/src/alexnet';
import { vggBackbones } from '../../../backbones/vgg/src/vgg';
import { squeezenetBackbones } from '../../../backbones/squeezenet/src/squeezenet';

/** tf.grad for a function of one NHWC batch (tf.grad's signature takes a plain Tensor). */
const grad4 = (f: (x: tf.Tensor4D) => tf.Tensor) => tf.grad((x: tf.Tensor) => f(x as tf.Tensor4D));

const POINTS = ['relu1', 'relu2', 'relu3', 'relu4', 'relu5'];
const INPUT: PerceptualInputSpec = { range: '[0,1]', normalize: 'imagenet' };
const SHAPE: [number, number, number, number] = [3, 32, 32, 3];
const CHANNELS = [64, 192, 384, 256, 256];

let extractor: FeatureExtractor;
let a: tf.Tensor4D;
let b: tf.Tensor4D;
let lin: Map<string, Float32Array>;

beforeAll(async () => {
  await initBackend('wasm');
  extractor = alexnet().build({ seed: 7 });
  a = tf.randomUniform(SHAPE, 0, 1, 'float32', 1) as tf.Tensor4D;
  b = tf.tidy(() => tf.clipByValue(tf.add(a, tf.randomNormal(SHAPE, 0, 0.2, 'float32', 2)), 0, 1) as tf.Tensor4D);
  lin = new Map(POINTS.map((p, i) => [p, Float32Array.from({ length: CHANNELS[i] }, (_, c) => ((c * 37 + i) % 11) / 10)]));
});
afterAll(() => {
  extractor.dispose();
  tf.dispose([a, b]);
});

const baseline = (opts: Partial<ConstructorParameters<typeof PerceptualDistance>[0]> = {}) =>
  new PerceptualDistance({ extractor, points: POINTS, input: INPUT, variant: 'baseline', ...opts });

const values = (t: tf.Tensor) => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};

describe('PerceptualDistance', () => {
  it('d(a, a) is exactly 0 and d(a, b) = d(b, a) exactly (baseline and lin); d(a, b) > 0', () => {
    for (const d of [baseline(), baseline({ variant: 'lin', linWeights: lin })]) {
      expect(values(d.compute(a, a))).toEqual([0, 0, 0]);
      const ab = values(d.compute(a, b));
      expect(values(d.compute(b, a))).toEqual(ab);
      for (const v of ab) expect(v).toBeGreaterThan(0);
      d.dispose();
    }
  });

  it("features are unit vectors over channels; reusing a reference's features (2AFC) gives the same distances", () => {
    const d = baseline();
    const ref = d.features(a);
    for (const p of POINTS) {
      const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(ref.get(p)!), -1)).dataSync());
      for (const n of norms) if (n !== 0) expect(Math.abs(n - 1)).toBeLessThan(1e-5);
    }
    const p1 = tf.tidy(() => tf.reverse(b, 2) as tf.Tensor4D);
    const direct = [values(d.compute(a, b)), values(d.compute(a, p1))];
    const reused = [values(d.computeWithReference(ref, b)), values(d.computeWithReference(ref, p1))];
    expect(reused).toEqual(direct);
    // the reference features survive the calls
    expect(ref.get('relu1')!.isDisposed).toBe(false);
    tf.dispose([...ref.values(), p1]);
    d.dispose();
  });

  it('point weights: sum_l w_l d_l over the per-point distances', () => {
    const d = baseline();
    const w = baseline({ pointWeights: [2, 0, 0.5, 1, 0] });
    const fa = d.features(a);
    const fb = d.features(b);
    const per = d.perPointFromFeatures(fa, fb);
    const want = [0, 1, 2].map((n) => [2, 0, 0.5, 1, 0].reduce((s, wl, l) => s + wl * per.get(POINTS[l])!.dataSync()[n], 0));
    values(w.fromFeatures(fa, fb)).forEach((v, n) => expect(v).toBeCloseTo(want[n], 6));
    const plain = values(d.fromFeatures(fa, fb));
    plain.forEach((v, n) =>
      expect(v).toBeCloseTo(
        POINTS.reduce((s, p) => s + per.get(p)!.dataSync()[n], 0),
        6,
      ),
    );
    tf.dispose([...fa.values(), ...fb.values(), ...per.values()]);
    d.dispose();
    w.dispose();
  });

  it('spatial maps: per point [N, h, w, 1] whose means are the per-point distances; combined at the input size', () => {
    const d = baseline({ spatial: 'map' });
    const maps = d.spatialMaps(a, b);
    expect(maps.combined.shape).toEqual([3, 32, 32, 1]);
    expect(maps.points.get('relu1')!.shape).toEqual([3, 7, 7, 1]);
    const fa = d.features(a);
    const fb = d.features(b);
    const per = d.perPointFromFeatures(fa, fb);
    for (const p of POINTS) {
      const m = values(tf.mean(maps.points.get(p)!, [1, 2, 3]));
      m.forEach((v, n) => expect(v).toBeCloseTo(per.get(p)!.dataSync()[n], 6));
    }
    expect(d.describe().spatial).toBe('map');
    tf.dispose([maps.combined, ...maps.points.values(), ...fa.values(), ...fb.values(), ...per.values()]);
    d.dispose();
  });

  it('[0,1] and [-1,1] inputs of the same images give the same distance', () => {
    const d01 = baseline();
    const d11 = baseline({ input: { range: '[-1,1]', normalize: 'imagenet' } });
    const [a11, b11] = tf.tidy(() => [tf.sub(tf.mul(a, 2), 1), tf.sub(tf.mul(b, 2), 1)] as tf.Tensor4D[]);
    const want = values(d01.compute(a, b));
    values(d11.compute(a11, b11)).forEach((v, n) => expect(Math.abs(v - want[n])).toBeLessThan(1e-6 * want[n]));
    tf.dispose([a11, b11]);
    d01.dispose();
    d11.dispose();
  });

  it('differentiable w.r.t. both inputs on wasm: finite, non-zero gradients (baseline and lin)', () => {
    expect(tf.getBackend()).toBe('wasm');
    for (const d of [baseline(), baseline({ variant: 'lin', linWeights: lin })]) {
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(d.compute(x as tf.Tensor4D, y as tf.Tensor4D)))([a, b]);
      for (const g of [ga, gb]) {
        const v = g.dataSync();
        expect(v.every(Number.isFinite)).toBe(true);
        expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
      }
      tf.dispose([ga, gb]);
      d.dispose();
    }
  });

  it('gradients stay finite where a feature vector is exactly zero after a ReLU (plain autodiff of the norm gives NaN)', () => {
    // [1, 1, 3, 4]: location 1 is negative in every channel, so relu() makes it an all-zero vector
    const x = tf.tensor4d([0.5, -1, 2, 0.1, -0.3, -2, -0.1, -5, 1, 1, -1, 0.2], [1, 1, 3, 4]);
    const w = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, -1, 0.5, 2, -3], [1, 1, 3, 4]);
    const plain = (t: tf.Tensor4D) => {
      const r = tf.relu(t);
      return tf.sum(tf.mul(tf.div(r, tf.add(tf.sqrt(tf.sum(tf.square(r), -1, true)), 1e-10)), w));
    };
    const ours = (t: tf.Tensor4D) => tf.sum(tf.mul(unitNormalize(tf.relu(t)), w));
    const [gp, go] = [grad4(plain)(x).dataSync(), grad4(ours)(x).dataSync()];
    expect(Array.from(gp.slice(4, 8)).some(Number.isNaN)).toBe(true); // why unitNormalize has its own gradient
    expect(Array.from(go.slice(4, 8))).toEqual([0, 0, 0, 0]); // the ReLU blocks it
    // elsewhere the two agree
    for (const i of [0, 1, 2, 3, 8, 9, 10, 11]) expect(go[i]).toBeCloseTo(gp[i], 5);
    tf.dispose([x, w]);
  });

  it('unitNormalize: y = x / (|x| + 1e-10); its gradient equals autodiff of that formula where |x| > 0', () => {
    const x = tf.randomNormal([2, 3, 3, 5], 0, 1, 'float32', 9) as tf.Tensor4D;
    const w = tf.randomNormal([2, 3, 3, 5], 0, 1, 'float32', 10);
    const formula = (t: tf.Tensor4D) => tf.div(t, tf.add(tf.sqrt(tf.sum(tf.square(t), -1, true)), 1e-10));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(formula(x), unitNormalize(x)))).dataSync()[0])).toBeLessThan(1e-7);
    const gp = grad4((t: tf.Tensor4D) => tf.sum(tf.mul(formula(t), w)))(x);
    const go = grad4((t: tf.Tensor4D) => tf.sum(tf.mul(unitNormalize(t), w)))(x);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(gp, go))).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose([x, w, gp, go]);
  });

  it('leaves no tensors behind', () => {
    const d = baseline({ variant: 'lin', linWeights: lin });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      d.compute(a, b).dispose();
      const g = grad4((x: tf.Tensor4D) => tf.sum(d.compute(x, b)))(a);
      g.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    d.dispose();
  });

  it('describe(): backbone, points, variant, input spec, weights provenance, backend', () => {
    const d = baseline({ variant: 'lin', linWeights: lin, linSource: 'lin.pth', points: ['1', 'alexnet:4', 'relu3', 'relu4', 'relu5'] });
    expect(d.describe()).toMatchObject({
      kind: 'perceptual-distance',
      backbone: 'alexnet',
      points: POINTS, // aliases resolved
      pointWeights: [1, 1, 1, 1, 1],
      variant: 'lin',
      linWeights: { source: 'lin.pth' },
      input: { range: '[0,1]', normalize: 'imagenet', resize: null, validate: true },
      spatial: 'mean',
      batchNorm: 'eval',
      weights: { kind: 'random', seed: 7 },
      backend: 'wasm',
    });
    expect(d.describe().formula).toMatch(/1e-10/);
    d.dispose();
  });

  it('configuration errors name the problem', () => {
    expect(() => baseline({ variant: 'lin' })).toThrow(/variant 'lin'[\s\S]*needs linWeights/);
    const short = new Map(lin);
    short.set('relu2', new Float32Array(10));
    expect(() => baseline({ variant: 'lin', linWeights: short })).toThrow(/point 'relu2' has 192 channels but 10 weights/);
    const neg = new Map(lin);
    neg.set(
      'relu3',
      Float32Array.from({ length: 384 }, (_, i) => (i === 5 ? -0.1 : 0.1)),
    );
    expect(() => baseline({ variant: 'lin', linWeights: neg })).toThrow(/point 'relu3' weight 5 is -0\.1/);
    const missing = new Map(lin);
    missing.delete('relu5');
    expect(() => baseline({ variant: 'lin', linWeights: missing })).toThrow(/no weights for point 'relu5'/);
    expect(() => baseline({ linWeights: lin })).toThrow(/would be ignored/);
    expect(() => baseline({ pointWeights: [1, 2] })).toThrow(/2 entries for 5 points/);
    expect(() => baseline({ points: ['relu1', '1'] })).toThrow(/name 'relu1' twice/);
    expect(() => baseline({ points: ['relu9'] })).toThrow(/no extraction point 'relu9'/);
    const d = baseline();
    const small = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    expect(() => d.compute(a, small)).toThrow(/differ/);
    expect(() => d.compute(small, small)).toThrow(/smaller than alexnet needs/);
    small.dispose();
    d.dispose();
  });
});

describe('LPIPS points and lin checkpoints', () => {
  const backbones: Record<LpipsBackboneId, () => ReturnType<typeof alexnet>> = {
    alexnet: () => alexnet(),
    vgg16: () => vggBackbones().find((b) => b.id === 'vgg16')!,
    squeezenet1_1: () => squeezenetBackbones().find((b) => b.id === 'squeezenet1_1')!,
  };

  it("LPIPS_POINTS are the backbones' taps at torchvision features indices (LPIPS slice ends), with their channels", () => {
    for (const [id, make] of Object.entries(backbones) as [LpipsBackboneId, () => ReturnType<typeof alexnet>][]) {
      const b = make();
      const t = LPIPS_POINTS[id];
      expect(t.torchIndices.map((i) => b.point(String(i)).name)).toEqual(t.points);
      expect(t.points.map((p) => b.point(p).channels)).toEqual(t.channels);
    }
    // LPIPS's own slices for squeeze: [0:2], [2:5], [5:8], [8:10], [10:11], [11:12], [12:13]
    expect(LPIPS_POINTS.squeezenet1_1.torchIndices).toEqual([1, 4, 7, 9, 10, 11, 12]);
    expect(['alex', 'vgg', 'squeeze'].map(lpipsBackbone)).toEqual(['alexnet', 'vgg16', 'squeezenet1_1']);
    expect(() => lpipsBackbone('resnet18')).toThrow(/no LPIPS linear layers[\s\S]*alexnet, vgg16, squeezenet1_1/);
  });

  const sd = (channels: readonly number[], extra: Record<string, number[]> = {}): StateDict => {
    const m: StateDict = new Map();
    channels.forEach((c, i) =>
      m.set(`lin${i}.model.1.weight`, { dtype: 'float32', shape: [1, c, 1, 1], data: new Float32Array(c).fill(0.25) }),
    );
    for (const [k, s] of Object.entries(extra))
      m.set(k, { dtype: 'float32', shape: s, data: new Float32Array(s.reduce((x, y) => x * y, 1)) });
    return m;
  };

  it('maps lin i to the i-th point; extra keys, bad shapes and negative weights are errors naming the key', () => {
    const ok = lpipsLinFromStateDict(sd(LPIPS_POINTS.alexnet.channels), 'alex', 'alex.pth');
    expect(ok.backbone).toBe('alexnet');
    expect([...ok.weights.keys()]).toEqual(POINTS);
    expect(ok.weights.get('relu3')!.length).toBe(384);
    expect(() =>
      lpipsLinFromStateDict(sd(LPIPS_POINTS.alexnet.channels, { 'net.slice1.0.weight': [64, 3, 11, 11] }), 'alexnet', 'full.pth'),
    ).toThrow(/full\.pth[\s\S]*unexpected keys: net\.slice1\.0\.weight/);
    const flat = sd(LPIPS_POINTS.alexnet.channels);
    flat.set('lin2.model.1.weight', { dtype: 'float32', shape: [384], data: new Float32Array(384) });
    expect(() => lpipsLinFromStateDict(flat, 'alexnet', 'x.pth')).toThrow(
      /lin2\.model\.1\.weight has shape \[384\], expected \[1, 384, 1, 1\]/,
    );
    const neg = sd(LPIPS_POINTS.alexnet.channels);
    neg.get('lin4.model.1.weight')!.data[7] = -1;
    expect(() => lpipsLinFromStateDict(neg, 'alexnet', 'x.pth')).toThrow(/lin4\.model\.1\.weight has weight -1 at channel 7/);
  });
});
