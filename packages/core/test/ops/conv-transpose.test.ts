/**
 * convTranspose2d (torch.nn.ConvTranspose2d semantics): value and gradients on wasm (and cpu)
 * against (1) a float64 loop reference by the scatter definition, (2) the cpu backend's
 * tf.conv2dTranspose and the gradients tfjs registers for it (conv2d of dy, Conv2DBackpropFilter;
 * dilation 1 only: tf.conv2dTranspose has no dilation), (3) PyTorch when available.
 * Tolerance: max|ours - ref| <= 1e-4 * max|ref|.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convTranspose2d, convTranspose2dFrozen } from '../../src/ops/conv-transpose';
import type { ConvTranspose2DSpec } from '../../src/ops/conv-spec';
import { builtinConvTranspose } from './builtin';
import { type Arr, arr, expectClose, printWorst, rng, torchAvailable, useBackend, valueAndGrads } from './harness';
import { type Shape4, convTransposeRef } from './reference';
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
  op: [number, number];
  dilation: [number, number];
  bias: boolean;
}
const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
const c = (
  n: number,
  h: number,
  w: number,
  cin: number,
  cout: number,
  k: number | [number, number],
  s: number | [number, number],
  p: number | [number, number],
  op: number | [number, number],
  d: number | [number, number] = 1,
  bias = true,
): Case => ({ n, h, w, cin, cout, k: pair(k), stride: pair(s), pad: pair(p), op: pair(op), dilation: pair(d), bias });

const CASES: Case[] = [
  c(1, 5, 7, 3, 2, 4, 2, 1, 0), // U-Net up-sampling: 4x4, stride 2, pad 1
  c(3, 6, 5, 2, 3, 4, 2, 1, 0),
  c(1, 5, 6, 3, 2, 5, 2, 0, 0), // autoencoder decoder: k5 s2, no padding
  c(3, 4, 5, 2, 2, 6, 2, 0, 0, 1, false), // k6 s2
  c(1, 7, 6, 2, 3, 3, 2, 1, 1), // output_padding 1
  c(1, 6, 7, 3, 2, 3, 1, 1, 0),
  c(3, 5, 5, 2, 2, 1, 2, 0, 1),
  c(1, 4, 5, 2, 2, 9, 2, 2, 1),
  c(1, 5, 4, 2, 3, 3, 3, 2, [2, 1]),
  c(1, 6, 5, 2, 2, 3, 1, 1, 0, 2), // dilation 2
  c(3, 5, 6, 2, 2, 3, 2, 1, 1, 2), // stride and dilation together
  c(1, 5, 6, 2, 2, 3, 1, 2, 1, 2, false), // output_padding < dilation with stride 1
  c(1, 6, 5, 3, 2, [3, 5], [2, 1], [1, 2], [1, 0]),
];

const label = (k: Case) =>
  `n${k.n} ${k.h}x${k.w} ${k.cin}->${k.cout} k${k.k} s${k.stride} p${k.pad} op${k.op} d${k.dilation}${k.bias ? '' : ' nobias'}`;
const specOf = (k: Case): ConvTranspose2DSpec => ({ stride: k.stride, pad: k.pad, outputPadding: k.op, dilation: k.dilation });

function data(k: Case, seed: number) {
  const r = rng(seed);
  const x = arr([k.n, k.h, k.w, k.cin], r);
  const w = arr([k.k[0], k.k[1], k.cout, k.cin], r);
  const b = k.bias ? arr([k.cout], r) : null;
  const base = {
    x: x.data,
    xShape: x.shape as Shape4,
    w: w.data,
    wShape: w.shape as Shape4,
    b: b?.data ?? null,
    stride: k.stride,
    pad: k.pad,
    outputPadding: k.op,
    dilation: k.dilation,
  };
  const dy = arr(convTransposeRef(base).yShape, r);
  return { x, w, b, dy, ref: convTransposeRef({ ...base, dy: dy.data }) };
}

const ours =
  (k: Case) =>
  (...t: tf.Tensor[]) =>
    convTranspose2d(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, k.bias ? (t[2] as tf.Tensor1D) : null, specOf(k));

afterAll(() => printWorst('convTranspose2d'));
/** wasm results of the first describe, reused by the comparisons with other references. */
const wasmRuns = new Map<number, { value: Arr; grads: Arr[] }>();

describe('convTranspose2d against the float64 reference and the cpu built-ins', () => {
  for (const [i, k] of CASES.entries()) {
    it(label(k), async () => {
      const { x, w, b, dy, ref } = data(k, 400 + i);
      const inputs: Arr[] = b ? [x, w, b] : [x, w];
      for (const backend of ['wasm', 'cpu'] as const) {
        const got = await valueAndGrads(backend, ours(k), inputs, dy);
        if (backend === 'wasm') wasmRuns.set(i, got);
        const L = `${label(k)} [${backend}]`;
        expectClose(`${L} y`, `${backend} y vs f64`, got.value.data, ref.y, TOL, got.value.shape, ref.yShape);
        expectClose(`${L} dx`, `${backend} dx vs f64`, got.grads[0].data, ref.dx!, TOL);
        expectClose(`${L} dw`, `${backend} dw vs f64`, got.grads[1].data, ref.dw!, TOL);
        if (b) expectClose(`${L} db`, `${backend} db vs f64`, got.grads[2].data, ref.db!, TOL);
        if (backend !== 'wasm' || k.dilation[0] !== 1 || k.dilation[1] !== 1) continue;
        const cpu = await builtinConvTranspose(x, w, b, dy, k.stride, k.pad);
        expectClose(`${L} y`, 'wasm y vs cpu tf.conv2dTranspose', got.value.data, cpu.y, TOL, got.value.shape, cpu.yShape);
        expectClose(`${L} dx`, 'wasm dx vs cpu conv2d (its registered gradient)', got.grads[0].data, cpu.dx!, TOL);
        expectClose(`${L} dw`, 'wasm dw vs cpu Conv2DBackpropFilter', got.grads[1].data, cpu.dw!, TOL);
      }
      await useBackend('wasm');
      const wt = tf.tensor4d(w.data, w.shape as Shape4);
      const bt = b ? tf.tensor1d(b.data) : null;
      const frozen = await valueAndGrads('wasm', (xt) => convTranspose2dFrozen(xt as tf.Tensor4D, wt, bt, specOf(k)), [x], dy);
      tf.dispose(bt ? [wt, bt] : [wt]);
      expectClose(`${label(k)} frozen y`, 'wasm frozen y vs f64', frozen.value.data, ref.y, TOL);
      expectClose(`${label(k)} frozen dx`, 'wasm frozen dx vs f64', frozen.grads[0].data, ref.dx!, TOL);
    });
  }
});

const hasTorch = torchAvailable();
(hasTorch ? describe : describe.skip)('convTranspose2d on wasm against PyTorch (float64)', () => {
  it('all cases', async () => {
    const all = CASES.map((k, i) => ({ k, ...data(k, 400 + i) }));
    const res = torchRef(
      all.map(({ k, x, w, b, dy }) => ({
        op: 'convT' as const,
        x: [...x.data],
        xShape: x.shape,
        w: [...w.data],
        wShape: w.shape,
        b: b ? [...b.data] : null,
        stride: k.stride,
        pad: k.pad,
        outputPadding: k.op,
        dilation: k.dilation,
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

describe('convTranspose2d memory and checks', () => {
  it('10 forward+backward steps on wasm leave tf.memory().numTensors unchanged', async () => {
    await useBackend('wasm');
    const r = rng(13);
    const x = tf.tensor4d(arr([2, 5, 5, 3], r).data, [2, 5, 5, 3]);
    const w = tf.tensor4d(arr([4, 4, 2, 3], r).data, [4, 4, 2, 3]);
    const b = tf.tensor1d(arr([2], r).data);
    const spec: ConvTranspose2DSpec = { stride: [2, 2], pad: [1, 1] };
    const step = () => {
      const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        convTranspose2d(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, spec),
      )([x, w, b]);
      expect(value.shape).toEqual([2, 10, 10, 2]);
      tf.dispose([value, ...grads]);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  it('names the offending argument', async () => {
    await useBackend('cpu');
    const x = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 2, 3]) as tf.Tensor4D;
    expect(() => convTranspose2d(x, w, null, { stride: [2, 2], pad: [1, 1], outputPadding: [2, 0] })).toThrow(
      /convTranspose2d outputPadding: must be smaller than stride or dilation/,
    );
    const wBad = tf.zeros([3, 3, 3, 2]) as tf.Tensor4D;
    expect(() => convTranspose2d(x, wBad, null, { stride: [2, 2], pad: [1, 1] })).toThrow(/convTranspose2d w: has 2 input channels/);
    tf.dispose([x, w, wBad]);
  });
});
