/**
 * conv2d (trainable) and conv2dInputOnly: value and gradients on wasm (and on cpu) against
 * (1) a float64 loop reference by the definition, (2) the cpu backend's built-in Conv2D and the
 * kernels its registered gradient calls (Conv2DBackpropInput / Conv2DBackpropFilter; tfjs has no
 * dilated conv gradient, so those cases use (1) and (3) only), (3) PyTorch when available.
 * Tolerance everywhere: max|ours - ref| <= 1e-4 * max|ref| (float32 vs float64 accumulation
 * over at most 9*9*4 products).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, conv2dInputOnly } from '../../src/ops/conv-train';
import type { Conv2DSpec } from '../../src/ops/conv-spec';
import { builtinConv } from './builtin';
import { type Arr, arr, expectClose, printWorst, rng, torchAvailable, useBackend, valueAndGrads } from './harness';
import { type Shape4, convRef } from './reference';
import { torchRef } from './torch-ref';

const TOL = 1e-4;

interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: [number, number];
  stride: [number, number];
  pad: [number, number];
  dilation: [number, number];
  bias: boolean;
}
const c = (
  n: number,
  h: number,
  w: number,
  cin: number,
  cout: number,
  k: number | [number, number],
  s: number | [number, number],
  p: number | [number, number],
  d: number | [number, number],
  bias = true,
): Case => {
  const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
  return { n, h, w, cin, cout, k: pair(k), stride: pair(s), pad: pair(p), dilation: pair(d), bias };
};

const CASES: Case[] = [
  c(1, 7, 9, 3, 4, 3, 1, 1, 1),
  c(3, 8, 7, 2, 3, 1, 1, 0, 1),
  c(1, 9, 11, 3, 2, 1, 2, 1, 1), // 1x1 with padding: the dx padding is negative (crop)
  c(3, 11, 10, 3, 4, 3, 2, 1, 1),
  c(1, 13, 13, 2, 3, 4, 2, 1, 1),
  c(3, 9, 8, 2, 2, 5, 1, 2, 1, false),
  c(1, 12, 13, 2, 3, 6, 2, 2, 1),
  c(1, 19, 17, 2, 2, 9, 2, 0, 1),
  c(1, 10, 9, 2, 3, 9, 1, 4, 1),
  c(3, 10, 11, 3, 2, 3, 1, 2, 2),
  c(3, 9, 9, 2, 2, 5, 1, 0, 2, false),
  c(1, 13, 12, 2, 3, 3, 2, 1, 2), // stride and dilation together: tfjs refuses, we subsample
  c(1, 9, 10, 3, 2, [3, 5], [2, 1], [1, 2], 1),
  c(1, 11, 9, 2, 2, [3, 2], 1, [2, 0], [2, 1]),
  c(1, 15, 16, 2, 2, 4, 3, 0, 1),
  c(2, 13, 11, 3, 4, 4, 4, 0, 1), // a patch conv (kernel = stride: ViT), rows and columns left over
  c(1, 8, 12, 2, 3, [2, 4], [2, 4], 0, 1, false),
];

const label = (k: Case) =>
  `n${k.n} ${k.h}x${k.w} ${k.cin}->${k.cout} k${k.k} s${k.stride} p${k.pad} d${k.dilation}${k.bias ? '' : ' nobias'}`;

function data(k: Case, seed: number) {
  const r = rng(seed);
  const x = arr([k.n, k.h, k.w, k.cin], r);
  const w = arr([k.k[0], k.k[1], k.cin, k.cout], r);
  const b = k.bias ? arr([k.cout], r) : null;
  const ref0 = convRef({
    x: x.data,
    xShape: x.shape as Shape4,
    w: w.data,
    wShape: w.shape as Shape4,
    b: b?.data ?? null,
    stride: k.stride,
    pad: k.pad,
    dilation: k.dilation,
    groups: 1,
  });
  const dy = arr(ref0.yShape, r);
  const ref = convRef({
    x: x.data,
    xShape: x.shape as Shape4,
    w: w.data,
    wShape: w.shape as Shape4,
    b: b?.data ?? null,
    stride: k.stride,
    pad: k.pad,
    dilation: k.dilation,
    groups: 1,
    dy: dy.data,
  });
  return { x, w, b, dy, ref };
}

const specOf = (k: Case): Conv2DSpec => ({ stride: k.stride, pad: k.pad, dilation: k.dilation });
const ours =
  (k: Case) =>
  (...t: tf.Tensor[]) =>
    conv2d(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, k.bias ? (t[2] as tf.Tensor1D) : null, specOf(k));

afterAll(() => printWorst('conv2d'));
/** wasm results of the first describe, reused by the comparisons with other references. */
const wasmRuns = new Map<number, { value: Arr; grads: Arr[] }>();

describe('conv2d (trainable) against the float64 reference', () => {
  for (const [i, k] of CASES.entries()) {
    it(label(k), async () => {
      const { x, w, b, dy, ref } = data(k, 100 + i);
      const inputs: Arr[] = b ? [x, w, b] : [x, w];
      for (const backend of ['wasm', 'cpu'] as const) {
        const got = await valueAndGrads(backend, ours(k), inputs, dy);
        if (backend === 'wasm') wasmRuns.set(i, got);
        const L = `${label(k)} [${backend}]`;
        expectClose(`${L} y`, `${backend} y vs f64`, got.value.data, ref.y, TOL, got.value.shape, ref.yShape);
        expectClose(`${L} dx`, `${backend} dx vs f64`, got.grads[0].data, ref.dx!, TOL);
        expectClose(`${L} dw`, `${backend} dw vs f64`, got.grads[1].data, ref.dw!, TOL);
        if (b) expectClose(`${L} db`, `${backend} db vs f64`, got.grads[2].data, ref.db!, TOL);
      }
      // the input-only form gives the same dx
      // the caller keeps the closed-over weights alive until the backward pass has run
      await useBackend('wasm');
      const wt = tf.tensor4d(w.data, w.shape as Shape4);
      const bt = b ? tf.tensor1d(b.data) : null;
      const frozen = await valueAndGrads('wasm', (xt) => conv2dInputOnly(xt as tf.Tensor4D, wt, bt, specOf(k)), [x], dy);
      tf.dispose(bt ? [wt, bt] : [wt]);
      expectClose(`${label(k)} input-only y`, 'wasm input-only y vs f64', frozen.value.data, ref.y, TOL);
      expectClose(`${label(k)} input-only dx`, 'wasm input-only dx vs f64', frozen.grads[0].data, ref.dx!, TOL);
    });
  }
});

describe("conv2d on wasm against the cpu backend's built-in conv and its gradient kernels", () => {
  for (const [i, k] of CASES.entries()) {
    const strideAndDilation = Math.max(...k.stride) > 1 && Math.max(...k.dilation) > 1;
    if (strideAndDilation) continue; // tf.conv2d refuses this combination on every backend
    it(label(k), async () => {
      const { x, w, b, dy } = data(k, 100 + i);
      const ourRes = wasmRuns.get(i) ?? (await valueAndGrads('wasm', ours(k), b ? [x, w, b] : [x, w], dy));
      const cpu = await builtinConv(x, w, b, dy, k.stride, k.pad, k.dilation, 1);
      expectClose(`${label(k)} y`, 'wasm y vs cpu tf.conv2d', ourRes.value.data, cpu.y, TOL, ourRes.value.shape, cpu.yShape);
      if (!cpu.dx || !cpu.dw) return; // no built-in dilated gradient exists
      expectClose(`${label(k)} dx`, 'wasm dx vs cpu Conv2DBackpropInput', ourRes.grads[0].data, cpu.dx, TOL);
      expectClose(`${label(k)} dw`, 'wasm dw vs cpu Conv2DBackpropFilter', ourRes.grads[1].data, cpu.dw, TOL);
    });
  }
});

const hasTorch = torchAvailable();
(hasTorch ? describe : describe.skip)('conv2d on wasm against PyTorch (float64)', () => {
  it('all cases', async () => {
    const all = CASES.map((k, i) => ({ k, ...data(k, 100 + i) }));
    const res = torchRef(
      all.map(({ k, x, w, b, dy }) => ({
        op: 'conv' as const,
        x: [...x.data],
        xShape: x.shape,
        w: [...w.data],
        wShape: w.shape,
        b: b ? [...b.data] : null,
        stride: k.stride,
        pad: k.pad,
        dilation: k.dilation,
        groups: 1,
        dy: [...dy.data],
      })),
    );
    for (const [i, { k, x, w, b, dy }] of all.entries()) {
      const got = wasmRuns.get(i) ?? (await valueAndGrads('wasm', ours(k), b ? [x, w, b] : [x, w], dy));
      const t = res[i];
      expectClose(`${label(k)} y`, 'wasm y vs torch', got.value.data, t.y, TOL, got.value.shape, t.yShape);
      expectClose(`${label(k)} dx`, 'wasm dx vs torch', got.grads[0].data, t.dx, TOL);
      expectClose(`${label(k)} dw`, 'wasm dw vs torch', got.grads[1].data, t.dw!, TOL);
      if (b) expectClose(`${label(k)} db`, 'wasm db vs torch', got.grads[2].data, t.db!, TOL);
    }
  });
});

describe('conv2d memory', () => {
  it('10 forward+backward steps on wasm leave tf.memory().numTensors unchanged', async () => {
    await useBackend('wasm');
    const r = rng(7);
    const x = tf.tensor4d(arr([2, 9, 9, 3], r).data, [2, 9, 9, 3]);
    const w = tf.variable(tf.tensor4d(arr([3, 3, 3, 4], r).data, [3, 3, 3, 4]));
    const b = tf.variable(tf.tensor1d(arr([4], r).data));
    const spec: Conv2DSpec = { stride: [2, 2], pad: [1, 1], dilation: [1, 1] };
    const step = () => {
      const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, spec),
      )([x, w, b]);
      tf.dispose([value, ...grads]);
      const fz = tf.grad((xi: tf.Tensor) => conv2dInputOnly(xi as tf.Tensor4D, w, b, spec))(x);
      fz.dispose();
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });
});

describe('conv2d argument checks', () => {
  it('names the offending input', async () => {
    await useBackend('cpu');
    const x = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 2, 4]) as tf.Tensor4D;
    const spec: Conv2DSpec = { stride: [1, 1], pad: [0, 0], dilation: [1, 1] };
    expect(() => conv2d(x, w, null, spec)).toThrow(/conv2d w: has 2 input channels/);
    const w3 = tf.zeros([3, 3, 3, 4]) as tf.Tensor4D;
    const b3 = tf.zeros([3]) as tf.Tensor1D;
    expect(() => conv2d(x, w3, b3, spec)).toThrow(/conv2d b: must have shape \[4\]/);
    expect(() => conv2d(x, w3, null, { ...spec, stride: [0, 1] })).toThrow(/conv2d stride/);
    expect(() => conv2d(x, w3, null, { ...spec, dilation: [3, 3] })).toThrow(/smaller than the dilated kernel/);
    tf.dispose([x, w, w3, b3]);
  });
});
