/**
 * The perceptual input contract: declared range checked (the error names what was observed),
 * grayscale expanded, the three normalisations computed from their published constants, the
 * differentiable align_corners=False bilinear resize.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import { isDplError } from '../../src/errors';
import { bilinearMatrix, resizeBilinear } from '../../src/perceptual/bilinear';
import { prepareInput, type PerceptualInputSpec } from '../../src/perceptual/input';

/** tf.grad for a function of one NHWC batch (tf.grad's signature takes a plain Tensor). */
const grad4 = (f: (x: tf.Tensor4D) => tf.Tensor) => tf.grad((x: tf.Tensor) => f(x as tf.Tensor4D));

// LPIPS's ScalingLayer (lpips/pretrained_networks.py, Zhang et al.) and torchvision's ImageNet statistics
const SHIFT = [-0.03, -0.088, -0.188];
const SCALE = [0.458, 0.448, 0.45];
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

beforeAll(async () => {
  await initBackend('wasm');
});

const spec = (range: PerceptualInputSpec['range'], normalize: PerceptualInputSpec['normalize']): PerceptualInputSpec => ({
  range,
  normalize,
});

/** A seeded NHWC batch with values in [lo, hi]. */
const images = (shape: [number, number, number, number], lo = 0, hi = 1, seed = 1) =>
  tf.randomUniform(shape, lo, hi, 'float32', seed) as tf.Tensor4D;

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('range check', () => {
  it('[0,255] images declared [0,1]: an input error naming the observed range and the declared one', () => {
    const x = tf.tensor4d([0, 17, 255, 128, 3, 9], [1, 1, 2, 3]);
    const e = thrown(() => prepareInput(x, spec('[0,1]', 'imagenet')));
    expect(isDplError(e)).toBe(true);
    expect((e as { code?: string }).code).toBe('E_INPUT');
    expect(e.message).toMatch(/values in \[0, 255\], outside the declared range \[0,1\]/);
    expect(e.message).toMatch(/divide by 255/);
    x.dispose();
  });

  it('[-1,1] images declared [0,1] are rejected; declared [-1,1] they pass', () => {
    const x = tf.tensor4d([-0.75, 0.5, 1, 0, -1, 0.25], [1, 1, 2, 3]);
    expect(thrown(() => prepareInput(x, spec('[0,1]', 'none'))).message).toMatch(
      /\[-1, 1\], outside the declared range \[0,1\][\s\S]*declare range '\[-1,1\]'/,
    );
    const y = prepareInput(x, spec('[-1,1]', 'none'));
    expect(Array.from(y.dataSync())).toEqual([0.125, 0.75, 1, 0.5, 0, 0.625]);
    tf.dispose([x, y]);
  });

  it('tolerates float error up to 1e-5 outside the range, not more', () => {
    const ok = tf.tensor4d([1 + 5e-6, -5e-6, 0.5], [1, 1, 1, 3]);
    const bad = tf.tensor4d([1 + 1e-4, 0, 0.5], [1, 1, 1, 3]);
    const y = prepareInput(ok, spec('[0,1]', 'none'));
    expect(() => prepareInput(bad, spec('[0,1]', 'none'))).toThrow(/outside the declared range/);
    // validate: false skips the check (a training loop that validated its data)
    const z = prepareInput(bad, { ...spec('[0,1]', 'none'), validate: false });
    tf.dispose([ok, bad, y, z]);
  });

  it('NaN is an error, not a silently wrong score', () => {
    const x = tf.tensor4d([0.5, NaN, 0.5], [1, 1, 1, 3]);
    expect(() => prepareInput(x, spec('[0,1]', 'imagenet'))).toThrow(/NaN or infinite/);
    x.dispose();
  });

  it('malformed specs and shapes are clear errors', () => {
    const x = images([1, 4, 4, 3]);
    expect(() => prepareInput(x, { range: '[0,255]' as never, normalize: 'none' })).toThrow(
      /input range '\[0,255\]'[\s\S]*'\[0,1\]' or '\[-1,1\]'/,
    );
    expect(() => prepareInput(x, { range: '[0,1]', normalize: 'caffe' as never })).toThrow(/normalize 'caffe'/);
    expect(() => prepareInput(x, { range: '[0,1]', normalize: 'none', resize: { height: 0, width: 4, method: 'bilinear' } })).toThrow(
      /resize height 0/,
    );
    const four = images([1, 4, 4, 4]);
    expect(() => prepareInput(four, spec('[0,1]', 'none'))).toThrow(/have 4 channels/);
    const ints = tf.zeros([1, 2, 2, 3], 'int32') as tf.Tensor4D;
    expect(() => prepareInput(ints, spec('[0,1]', 'none'))).toThrow(/dtype int32/);
    tf.dispose([x, four, ints]);
  });
});

describe('normalisation', () => {
  const vals = [0, 0.25, 0.5, 0.75, 1, 0.125];
  let x01: tf.Tensor4D;
  beforeAll(() => {
    x01 = tf.tensor4d(vals, [1, 1, 2, 3]);
  });
  afterAll(() => x01.dispose());

  it("'imagenet' = (x - mean) / std per channel, from [0,1] or from [-1,1]", () => {
    const want = vals.map((v, i) => (v - MEAN[i % 3]) / STD[i % 3]);
    const a = prepareInput(x01, spec('[0,1]', 'imagenet'));
    const m11 = tf.sub(tf.mul(x01, 2), 1) as tf.Tensor4D;
    const b = prepareInput(m11, spec('[-1,1]', 'imagenet'));
    for (const t of [a, b]) Array.from(t.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    tf.dispose([a, b, m11]);
  });

  it("'lpips' = LPIPS's ScalingLayer (x - shift) / scale on [-1,1] input; [0,1] input is mapped to [-1,1] first", () => {
    const want = vals.map((v, i) => (2 * v - 1 - SHIFT[i % 3]) / SCALE[i % 3]);
    const a = prepareInput(x01, spec('[0,1]', 'lpips'));
    const m11 = tf.sub(tf.mul(x01, 2), 1) as tf.Tensor4D;
    const b = prepareInput(m11, spec('[-1,1]', 'lpips'));
    for (const t of [a, b]) Array.from(t.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    // the two scalings differ only in rounding: LPIPS's constants are ImageNet's, moved to [-1,1]
    SHIFT.forEach((s, c) => expect((1 + s) / 2).toBeCloseTo(MEAN[c], 3));
    tf.dispose([a, b, m11]);
  });

  it("'none' gives [0,1] values whatever the declared range", () => {
    const a = prepareInput(x01, spec('[0,1]', 'none'));
    expect(a).not.toBe(x01); // a tensor of its own: the caller disposes it
    expect(Array.from(a.dataSync())).toEqual(vals);
    a.dispose();
  });

  it('grayscale (C=1) is replicated to 3 channels before normalising', () => {
    const g = tf.tensor4d([0.2, 0.9], [1, 1, 2, 1]);
    const y = prepareInput(g, spec('[0,1]', 'imagenet'));
    expect(y.shape).toEqual([1, 1, 2, 3]);
    const want = [0.2, 0.9].flatMap((v) => [0, 1, 2].map((c) => (v - MEAN[c]) / STD[c]));
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    const n = prepareInput(g, spec('[0,1]', 'none'));
    expect(Array.from(n.dataSync())).toEqual([0.2, 0.2, 0.2, 0.9, 0.9, 0.9].map(Math.fround));
    tf.dispose([g, y, n]);
  });
});

describe('bilinear resize (PyTorch align_corners=False)', () => {
  it('forward values equal tfjs half-pixel bilinear, up and down, both axes', () => {
    const x = images([2, 7, 10, 3]);
    for (const [h, w] of [
      [12, 6],
      [5, 15],
      [7, 10],
    ] as const) {
      const ours = resizeBilinear(x, h, w);
      const tfjs = tf.image.resizeBilinear(x, [h, w], false, true);
      expect(ours.shape).toEqual([2, h, w, 3]);
      const d = tf.max(tf.abs(tf.sub(ours, tfjs))).dataSync()[0];
      expect(d).toBeLessThan(1e-6);
      tf.dispose([ours, tfjs]);
    }
    x.dispose();
  });

  it('interpolation rows: PyTorch source index (i + 0.5) * in / out - 0.5, clamped, weights summing to 1', () => {
    // 4 -> 6: scale 2/3; output 0 samples -1/6 (clamped to 0), output 1 samples 0.5, output 5 samples 3.1667 (clamped)
    const m = bilinearMatrix(4, 6);
    const row = (i: number) => Array.from(m.slice(i * 4, i * 4 + 4));
    expect(row(0)).toEqual([1, 0, 0, 0]);
    expect(row(1)).toEqual([0.5, 0.5, 0, 0]);
    expect(row(5)).toEqual([0, 0, 0, 1]);
    for (let i = 0; i < 6; i++) expect(row(i).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
  });

  it('its gradient is the adjoint of the resize: <resize(x), w> = <x, d/dx <resize(x), w>>', () => {
    const x = images([2, 9, 6, 3], 0, 1, 3);
    const w = images([2, 6, 13, 3], -1, 1, 4);
    const f = (t: tf.Tensor4D) => tf.sum(tf.mul(resizeBilinear(t, 6, 13), w));
    const g = grad4(f)(x);
    const lhs = f(x).dataSync()[0];
    const rhs = tf.sum(tf.mul(x, g)).dataSync()[0];
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.abs(lhs));
    tf.dispose([x, w, g]);
  });

  it('prepareInput resizes (the spec size; no-op at that size)', () => {
    const x = images([1, 20, 30, 1]);
    const r: PerceptualInputSpec = { range: '[0,1]', normalize: 'none', resize: { height: 16, width: 16, method: 'bilinear' } };
    const y = prepareInput(x, r);
    expect(y.shape).toEqual([1, 16, 16, 3]);
    const same = prepareInput(y, r);
    expect(Array.from(same.dataSync())).toEqual(Array.from(y.dataSync()));
    tf.dispose([x, y, same]);
  });
});
