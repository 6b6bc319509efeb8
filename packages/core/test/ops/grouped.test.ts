/**
 * groupedConv2d (both implementations; 'auto' on cpu) and groupedConv2dFrozen: value and gradients
 * on wasm (and cpu) against (1) a float64 loop reference, (2) the cpu backend's built-in conv
 * run once per group with the backward kernels tfjs' gradient calls (dilation 1 only),
 * (3) PyTorch when available. Tolerance: max|ours - ref| <= 1e-4 * max|ref|.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FrozenGroupedConv2d, type GroupedStrategy, groupedConv2d, groupedConv2dFrozen } from '../../src/ops/grouped';
import type { GroupedConv2DSpec } from '../../src/ops/conv-spec';
import { builtinConv } from './builtin';
import { type Arr, arr, expectClose, printWorst, rng, torchAvailable, useBackend, valueAndGrads } from './harness';
import { type Shape4, convRef } from './reference';
import { torchRef } from './torch-ref';

const TOL = 1e-4;

interface Case {
  n: number;
  h: number;
  w: number;
  g: number;
  cg: number;
  og: number;
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
  g: number,
  cg: number,
  og: number,
  k: number | [number, number],
  s: number | [number, number],
  p: number | [number, number],
  d: number | [number, number],
  bias = true,
): Case => ({ n, h, w, g, cg, og, k: pair(k), stride: pair(s), pad: pair(p), dilation: pair(d), bias });

const CASES: Case[] = [
  c(1, 7, 9, 2, 2, 3, 3, 1, 1, 1),
  c(3, 9, 8, 4, 2, 2, 3, 2, 1, 1),
  c(1, 8, 9, 3, 3, 1, 1, 1, 0, 1),
  c(3, 11, 10, 2, 3, 2, 5, 2, 2, 1, false),
  c(1, 13, 12, 2, 2, 2, 4, 2, 1, 1),
  c(1, 12, 11, 3, 2, 2, 6, 2, 2, 1),
  c(1, 12, 12, 2, 2, 1, 9, 1, 4, 1),
  c(3, 10, 9, 2, 2, 3, 3, 1, 2, 2),
  c(1, 13, 11, 2, 3, 2, 3, 2, 1, 2), // stride and dilation together
  c(1, 9, 8, 4, 1, 2, 3, 1, 1, 1), // groups = C_in (depthwise, multiplier 2)
  c(1, 9, 8, 1, 3, 2, 3, 2, 1, 1), // groups = 1 (dense)
];
// 'auto' is 'depthwise'; it runs on cpu below
const STRATEGIES: GroupedStrategy[] = ['depthwise', 'split'];

const label = (k: Case) =>
  `n${k.n} ${k.h}x${k.w} G${k.g} ${k.g * k.cg}->${k.g * k.og} k${k.k} s${k.stride} p${k.pad} d${k.dilation}${k.bias ? '' : ' nobias'}`;
const specOf = (k: Case): GroupedConv2DSpec => ({ stride: k.stride, pad: k.pad, dilation: k.dilation, groups: k.g });

function data(k: Case, seed: number) {
  const r = rng(seed);
  const x = arr([k.n, k.h, k.w, k.g * k.cg], r);
  const w = arr([k.k[0], k.k[1], k.cg, k.g * k.og], r);
  const b = k.bias ? arr([k.g * k.og], r) : null;
  const base = {
    x: x.data,
    xShape: x.shape as Shape4,
    w: w.data,
    wShape: w.shape as Shape4,
    b: b?.data ?? null,
    stride: k.stride,
    pad: k.pad,
    dilation: k.dilation,
    groups: k.g,
  };
  const dy = arr(convRef(base).yShape, r);
  return { x, w, b, dy, ref: convRef({ ...base, dy: dy.data }) };
}

const ours =
  (k: Case, strategy: GroupedStrategy) =>
  (...t: tf.Tensor[]) =>
    groupedConv2d(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, k.bias ? (t[2] as tf.Tensor1D) : null, specOf(k), strategy);

afterAll(() => printWorst('grouped'));
/** wasm results of the first describe, reused by the comparisons with other references. */
const wasmRuns = new Map<number, { value: Arr; grads: Arr[] }>();

describe('groupedConv2d against the float64 reference and the cpu built-ins', () => {
  for (const [i, k] of CASES.entries()) {
    it(label(k), async () => {
      const { x, w, b, dy, ref } = data(k, 300 + i);
      const inputs: Arr[] = b ? [x, w, b] : [x, w];
      const runs = [...STRATEGIES.map((s) => ['wasm', s] as const), ['cpu', 'auto'] as const];
      for (const [backend, strategy] of runs) {
        const got = await valueAndGrads(backend, ours(k, strategy), inputs, dy);
        if (backend === 'wasm' && strategy === 'depthwise') wasmRuns.set(i, got);
        const L = `${label(k)} [${backend} ${strategy}]`;
        const kind = `${backend} ${strategy}`;
        expectClose(`${L} y`, `${kind} y vs f64`, got.value.data, ref.y, TOL, got.value.shape, ref.yShape);
        expectClose(`${L} dx`, `${kind} dx vs f64`, got.grads[0].data, ref.dx!, TOL);
        expectClose(`${L} dw`, `${kind} dw vs f64`, got.grads[1].data, ref.dw!, TOL);
        if (b) expectClose(`${L} db`, `${kind} db vs f64`, got.grads[2].data, ref.db!, TOL);
        if (backend !== 'wasm' || strategy !== 'depthwise') continue;
        if (Math.max(...k.stride) > 1 && Math.max(...k.dilation) > 1) continue; // tfjs refuses this mix
        const cpu = await builtinConv(x, w, b, dy, k.stride, k.pad, k.dilation, k.g);
        expectClose(`${L} y`, 'wasm y vs cpu tf.conv2d per group', got.value.data, cpu.y, TOL, got.value.shape, cpu.yShape);
        if (cpu.dx) expectClose(`${L} dx`, 'wasm dx vs cpu Conv2DBackpropInput per group', got.grads[0].data, cpu.dx, TOL);
        if (cpu.dw) expectClose(`${L} dw`, 'wasm dw vs cpu Conv2DBackpropFilter per group', got.grads[1].data, cpu.dw, TOL);
      }
      await useBackend('wasm');
      const wt = tf.tensor4d(w.data, w.shape as Shape4);
      const bt = b ? tf.tensor1d(b.data) : null;
      for (const strategy of STRATEGIES) {
        const frozen = await valueAndGrads('wasm', (xt) => groupedConv2dFrozen(xt as tf.Tensor4D, wt, bt, specOf(k), strategy), [x], dy);
        expectClose(`${label(k)} frozen ${strategy} y`, 'wasm frozen y vs f64', frozen.value.data, ref.y, TOL);
        expectClose(`${label(k)} frozen ${strategy} dx`, 'wasm frozen dx vs f64', frozen.grads[0].data, ref.dx!, TOL);
      }
      tf.dispose(bt ? [wt, bt] : [wt]);
    });
  }
});

const hasTorch = torchAvailable();
(hasTorch ? describe : describe.skip)('groupedConv2d on wasm against PyTorch (float64)', () => {
  it('all cases', async () => {
    const all = CASES.map((k, i) => ({ k, ...data(k, 300 + i) }));
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
        groups: k.g,
        dy: [...dy.data],
      })),
    );
    for (const [i, { k, x, w, b, dy }] of all.entries()) {
      const got = wasmRuns.get(i) ?? (await valueAndGrads('wasm', ours(k, 'auto'), b ? [x, w, b] : [x, w], dy));
      const t = res[i];
      expectClose(`${label(k)} y`, 'wasm y vs torch', got.value.data, t.y, TOL, got.value.shape, t.yShape);
      expectClose(`${label(k)} dx`, 'wasm dx vs torch', got.grads[0].data, t.dx, TOL);
      expectClose(`${label(k)} dw`, 'wasm dw vs torch', got.grads[1].data, t.dw!, TOL);
      if (b) expectClose(`${label(k)} db`, 'wasm db vs torch', got.grads[2].data, t.db!, TOL);
    }
  });
});

describe('grouped conv: memory, layer, checks', () => {
  it('10 forward+backward steps on wasm leave tf.memory().numTensors unchanged', async () => {
    await useBackend('wasm');
    const r = rng(11);
    const x = tf.tensor4d(arr([2, 9, 9, 4], r).data, [2, 9, 9, 4]);
    const w = tf.tensor4d(arr([3, 3, 2, 6], r).data, [3, 3, 2, 6]);
    const b = tf.tensor1d(arr([6], r).data);
    const spec: GroupedConv2DSpec = { stride: [2, 2], pad: [1, 1], dilation: [1, 1], groups: 2 };
    const layer = new FrozenGroupedConv2d(tf.clone(w), tf.clone(b), spec);
    const step = () => {
      for (const s of STRATEGIES) {
        const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          groupedConv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, spec, s),
        )([x, w, b]);
        tf.dispose([value, ...grads]);
      }
      tf.grad((xi: tf.Tensor) => layer.forward(xi as tf.Tensor4D))(x).dispose();
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    layer.dispose();
    tf.dispose([x, w, b]);
  });

  it('names the offending groups / kernel', async () => {
    await useBackend('cpu');
    const x = tf.zeros([1, 5, 5, 4]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 2, 6]) as tf.Tensor4D;
    const spec: GroupedConv2DSpec = { stride: [1, 1], pad: [1, 1], dilation: [1, 1], groups: 3 };
    expect(() => groupedConv2d(x, w, null, spec)).toThrow(/groupedConv2d groups: must be a positive integer dividing/);
    expect(() => groupedConv2d(x, w, null, { ...spec, groups: 4 })).toThrow(/groups: must be/);
    expect(() => groupedConv2d(x, w, null, { ...spec, groups: 1 })).toThrow(/groupedConv2d w: has 2 input channels per group/);
    tf.dispose([x, w]);
  });
});
