/**
 * depthwiseConv2d (trainable) and depthwiseConv2dFrozen: value and gradients on wasm (and cpu)
 * against (1) a float64 loop reference (a grouped conv with groups = C), (2) the cpu backend's
 * tf.depthwiseConv2d and the DepthwiseConv2dNativeBackpropInput/Filter kernels its registered
 * gradient calls (not for dilation > 1: tfjs has no such gradient), (3) PyTorch when available.
 * Tolerance: max|ours - ref| <= 1e-4 * max|ref|.
 */
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseConv2d, depthwiseConv2dFrozen } from '../../src/ops/depthwise';
import type { Conv2DSpec } from '../../src/ops/conv-spec';
import { builtinDepthwise } from './builtin';
import { type Arr, arr, expectClose, printWorst, rng, torchAvailable, useBackend, valueAndGrads } from './harness';
import { type Shape4, convRef } from './reference';
import { torchRef } from './torch-ref';

const TOL = 1e-4;

interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  m: number;
  k: [number, number];
  stride: [number, number];
  pad: [number, number];
  dilation: [number, number];
  bias: boolean;
}
const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
const c = (
  n: number,
  h: number,
  w: number,
  ch: number,
  m: number,
  k: number | [number, number],
  s: number | [number, number],
  p: number | [number, number],
  d: number | [number, number],
  bias = true,
): Case => ({ n, h, w, c: ch, m, k: pair(k), stride: pair(s), pad: pair(p), dilation: pair(d), bias });

const CASES: Case[] = [
  c(1, 7, 9, 4, 1, 3, 1, 1, 1),
  c(3, 9, 8, 3, 1, 3, 2, 1, 1),
  c(3, 8, 9, 2, 2, 3, 1, 1, 1),
  c(1, 11, 10, 3, 3, 5, 2, 2, 1, false),
  c(1, 13, 12, 2, 1, 4, 2, 1, 1),
  c(3, 12, 11, 2, 2, 6, 2, 2, 1),
  c(1, 10, 11, 3, 1, 1, 2, 1, 1),
  c(1, 12, 12, 2, 1, 9, 1, 4, 1),
  c(3, 10, 9, 3, 1, 3, 1, 2, 2),
  c(1, 11, 13, 2, 2, 3, 1, 0, 2, false),
  c(1, 13, 11, 2, 1, 3, 2, 2, 2), // stride and dilation together
  c(3, 9, 10, 2, 2, [3, 5], [2, 1], [1, 2], 1),
];

const label = (k: Case) => `n${k.n} ${k.h}x${k.w} C${k.c} m${k.m} k${k.k} s${k.stride} p${k.pad} d${k.dilation}${k.bias ? '' : ' nobias'}`;
const specOf = (k: Case): Conv2DSpec => ({ stride: k.stride, pad: k.pad, dilation: k.dilation });

function data(k: Case, seed: number) {
  const r = rng(seed);
  const x = arr([k.n, k.h, k.w, k.c], r);
  const w = arr([k.k[0], k.k[1], k.c, k.m], r);
  const b = k.bias ? arr([k.c * k.m], r) : null;
  // [kh,kw,C,m] and grouped HWIO [kh,kw,1,C*m] have the same memory order
  const base = {
    x: x.data,
    xShape: x.shape as Shape4,
    w: w.data,
    wShape: [k.k[0], k.k[1], 1, k.c * k.m] as Shape4,
    b: b?.data ?? null,
    stride: k.stride,
    pad: k.pad,
    dilation: k.dilation,
    groups: k.c,
  };
  const dy = arr(convRef(base).yShape, r);
  return { x, w, b, dy, ref: convRef({ ...base, dy: dy.data }) };
}

const ours =
  (k: Case) =>
  (...t: tf.Tensor[]) =>
    depthwiseConv2d(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, k.bias ? (t[2] as tf.Tensor1D) : null, specOf(k));

afterAll(() => printWorst('depthwise'));
/** wasm results of the first describe, reused by the comparisons with other references. */
const wasmRuns = new Map<number, { value: Arr; grads: Arr[] }>();

describe('depthwiseConv2d against the float64 reference and the cpu built-ins', () => {
  for (const [i, k] of CASES.entries()) {
    it(label(k), async () => {
      const { x, w, b, dy, ref } = data(k, 200 + i);
      const inputs: Arr[] = b ? [x, w, b] : [x, w];
      for (const backend of ['wasm', 'cpu'] as const) {
        const got = await valueAndGrads(backend, ours(k), inputs, dy);
        if (backend === 'wasm') wasmRuns.set(i, got);
        const L = `${label(k)} [${backend}]`;
        expectClose(`${L} y`, `${backend} y vs f64`, got.value.data, ref.y, TOL, got.value.shape, ref.yShape);
        expectClose(`${L} dx`, `${backend} dx vs f64`, got.grads[0].data, ref.dx!, TOL);
        expectClose(`${L} dw`, `${backend} dw vs f64`, got.grads[1].data, ref.dw!, TOL);
        if (b) expectClose(`${L} db`, `${backend} db vs f64`, got.grads[2].data, ref.db!, TOL);
        if (backend !== 'wasm') continue;
        if (Math.max(...k.stride) > 1 && Math.max(...k.dilation) > 1) continue; // cpu refuses this mix
        const cpu = await builtinDepthwise(x, w, b, dy, k.stride, k.pad, k.dilation);
        expectClose(`${L} y`, 'wasm y vs cpu tf.depthwiseConv2d', got.value.data, cpu.y, TOL, got.value.shape, cpu.yShape);
        if (cpu.dx) expectClose(`${L} dx`, 'wasm dx vs cpu DepthwiseConv2dNativeBackpropInput', got.grads[0].data, cpu.dx, TOL);
        if (cpu.dw) expectClose(`${L} dw`, 'wasm dw vs cpu DepthwiseConv2dNativeBackpropFilter', got.grads[1].data, cpu.dw, TOL);
      }
      await useBackend('wasm');
      const wt = tf.tensor4d(w.data, w.shape as Shape4);
      const bt = b ? tf.tensor1d(b.data) : null;
      const frozen = await valueAndGrads('wasm', (xt) => depthwiseConv2dFrozen(xt as tf.Tensor4D, wt, bt, specOf(k)), [x], dy);
      tf.dispose(bt ? [wt, bt] : [wt]);
      expectClose(`${label(k)} frozen y`, 'wasm frozen y vs f64', frozen.value.data, ref.y, TOL);
      expectClose(`${label(k)} frozen dx`, 'wasm frozen dx vs f64', frozen.grads[0].data, ref.dx!, TOL);
    });
  }
});

const hasTorch = torchAvailable();
(hasTorch ? describe : describe.skip)('depthwiseConv2d on wasm against PyTorch (float64)', () => {
  it('all cases', async () => {
    const all = CASES.map((k, i) => ({ k, ...data(k, 200 + i) }));
    const res = torchRef(
      all.map(({ k, x, w, b, dy }) => ({
        op: 'conv' as const,
        x: [...x.data],
        xShape: x.shape,
        w: [...w.data],
        wShape: [k.k[0], k.k[1], 1, k.c * k.m],
        b: b ? [...b.data] : null,
        stride: k.stride,
        pad: k.pad,
        dilation: k.dilation,
        groups: k.c,
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

describe('depthwise memory and checks', () => {
  it('10 forward+backward steps on wasm leave tf.memory().numTensors unchanged', async () => {
    await useBackend('wasm');
    const r = rng(9);
    const x = tf.tensor4d(arr([2, 9, 9, 3], r).data, [2, 9, 9, 3]);
    const w = tf.tensor4d(arr([3, 3, 3, 2], r).data, [3, 3, 3, 2]);
    const b = tf.tensor1d(arr([6], r).data);
    const spec: Conv2DSpec = { stride: [2, 2], pad: [1, 1], dilation: [1, 1] };
    const step = () => {
      const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        depthwiseConv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, spec),
      )([x, w, b]);
      tf.dispose([value, ...grads]);
      tf.grad((xi: tf.Tensor) => depthwiseConv2dFrozen(xi as tf.Tensor4D, w, b, spec))(x).dispose();
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  it('names a wrong kernel layout', async () => {
    await useBackend('cpu');
    const x = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 1, 3]) as tf.Tensor4D;
    expect(() => depthwiseConv2d(x, w, null, { stride: [1, 1], pad: [1, 1], dilation: [1, 1] })).toThrow(
      /depthwiseConv2d w: has 1 channels/,
    );
    tf.dispose([x, w]);
  });
});
