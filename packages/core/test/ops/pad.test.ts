/**
 * pad2d: value and gradient on wasm (and cpu) against (1) a float64 reference by the index
 * definition, (2) the cpu backend's tf.pad / tf.mirrorPad values (tfjs has no replicate mode;
 * its registered MirrorPad gradient only slices dy's centre, which is wrong for reflect, so
 * gradients are checked against (1) and (3) only), (3) PyTorch F.pad when available.
 * Tolerance: max|ours - ref| <= 1e-6 * max|ref| (padding copies values; the gradient sums at
 * most 5 of them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Pad2d, type PadMode, pad2d } from '../../src/ops/pad';
import { type Arr, arr, expectClose, printWorst, rng, torchAvailable, useBackend, valueAndGrads, valueOn } from './harness';
import { type Shape4, padRef } from './reference';
import { torchRef } from './torch-ref';

const TOL = 1e-6;

interface Case {
  shape: Shape4;
  pads: Pad2d;
  mode: PadMode;
  value: number;
}
const CASES: Case[] = [];
for (const mode of ['constant', 'reflect', 'replicate'] as const) {
  CASES.push(
    { shape: [1, 5, 7, 2], pads: [1, 1, 1, 1], mode, value: 0 },
    { shape: [3, 6, 5, 3], pads: [2, 0, 3, 1], mode, value: 0.5 },
    { shape: [1, 4, 9, 1], pads: [3, 3, 0, 8], mode, value: -1 }, // pad = size - 1 (the reflect maximum)
    { shape: [3, 7, 6, 2], pads: [0, 2, 2, 0], mode, value: 0 },
    { shape: [1, 3, 3, 2], pads: [0, 0, 0, 0], mode, value: 0 },
  );
}

const label = (k: Case) => `${k.mode} [${k.shape}] pads ${k.pads}${k.mode === 'constant' ? ` value ${k.value}` : ''}`;

function data(k: Case, seed: number) {
  const r = rng(seed);
  const x = arr(k.shape, r);
  const dy = arr(padRef(x.data, k.shape, k.pads, k.mode, k.value).yShape, r);
  return { x, dy, ref: padRef(x.data, k.shape, k.pads, k.mode, k.value, dy.data) };
}

afterAll(() => printWorst('pad2d'));

/** wasm results of the first describe, reused by the PyTorch comparison. */
const wasmRuns = new Map<number, { value: Arr; grads: Arr[] }>();

describe('pad2d against the float64 reference and the cpu built-ins', () => {
  for (const [i, k] of CASES.entries()) {
    it(label(k), async () => {
      const { x, dy, ref } = data(k, 500 + i);
      for (const backend of ['wasm', 'cpu'] as const) {
        const got = await valueAndGrads(backend, (t) => pad2d(t as tf.Tensor4D, k.pads, k.mode, k.value), [x], dy);
        if (backend === 'wasm') wasmRuns.set(i, got);
        const L = `${label(k)} [${backend}]`;
        expectClose(`${L} y`, `${backend} y vs f64`, got.value.data, ref.y, TOL, got.value.shape, ref.yShape);
        expectClose(`${L} dx`, `${backend} dx vs f64`, got.grads[0].data, ref.dx!, TOL);
        if (backend !== 'wasm' || k.mode === 'replicate') continue;
        const p: [number, number][] = [
          [0, 0],
          [k.pads[0], k.pads[1]],
          [k.pads[2], k.pads[3]],
          [0, 0],
        ];
        const cpu = await valueOn('cpu', (t) => (k.mode === 'constant' ? tf.pad(t, p, k.value) : tf.mirrorPad(t, p, 'reflect')), [x]);
        expectClose(
          `${L} y`,
          `wasm y vs cpu tf.${k.mode === 'constant' ? 'pad' : 'mirrorPad'}`,
          got.value.data,
          cpu.data,
          TOL,
          got.value.shape,
          cpu.shape,
        );
        if (k.mode === 'constant') {
          // tfjs' registered PadV2 gradient: dy's centre
          const dxCpu = await valueOn('cpu', (d) => tf.slice(d, [0, k.pads[0], k.pads[2], 0], k.shape), [dy]);
          expectClose(`${L} dx`, 'wasm dx vs cpu PadV2 gradient', got.grads[0].data, dxCpu.data, TOL);
        }
      }
    });
  }
});

const hasTorch = torchAvailable();
(hasTorch ? describe : describe.skip)('pad2d on wasm against PyTorch F.pad (float64)', () => {
  it('all cases', async () => {
    const all = CASES.map((k, i) => ({ k, ...data(k, 500 + i) }));
    const res = torchRef(
      all.map(({ k, x, dy }) => ({
        op: 'pad' as const,
        x: [...x.data],
        xShape: x.shape,
        pads: k.pads,
        mode: k.mode,
        value: k.value,
        dy: [...dy.data],
      })),
    );
    for (const [i, { k, x, dy }] of all.entries()) {
      const got = wasmRuns.get(i) ?? (await valueAndGrads('wasm', (t) => pad2d(t as tf.Tensor4D, k.pads, k.mode, k.value), [x], dy));
      expectClose(`${label(k)} y`, 'wasm y vs torch', got.value.data, res[i].y, TOL, got.value.shape, res[i].yShape);
      expectClose(`${label(k)} dx`, 'wasm dx vs torch', got.grads[0].data, res[i].dx, TOL);
    }
  });
});

describe('pad2d memory and checks', () => {
  it('10 forward+backward steps on wasm leave tf.memory().numTensors unchanged', async () => {
    await useBackend('wasm');
    const x = tf.tensor4d(arr([2, 6, 6, 3], rng(3)).data, [2, 6, 6, 3]);
    const step = () => {
      for (const mode of ['constant', 'reflect', 'replicate'] as const) {
        tf.grad((t: tf.Tensor) => pad2d(t as tf.Tensor4D, [1, 2, 3, 1], mode))(x).dispose();
      }
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('refuses reflect padding as large as the image, like PyTorch', async () => {
    await useBackend('cpu');
    const x = tf.zeros([1, 4, 5, 1]) as tf.Tensor4D;
    expect(() => pad2d(x, [4, 0, 0, 0], 'reflect')).toThrow(/pad2d pads: reflect padding must be smaller than the input/);
    expect(() => pad2d(x, [1, -1, 0, 0])).toThrow(/pad2d pads: must be four integers >= 0/);
    x.dispose();
  });
});
