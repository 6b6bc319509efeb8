import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { FrozenConv2d } from '../../src/ops/conv-frozen';
import { fillNormal, mulberry32 } from '../../src/util/random';

const rnd = (n: number, seed: number) => fillNormal(new Float32Array(n), mulberry32(seed));

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  out: number;
  stride: [number, number];
  pad: [number, number];
  dilation: [number, number];
}

const CASES: Case[] = [
  { x: [2, 9, 11, 3], k: [3, 3], out: 4, stride: [1, 1], pad: [1, 1], dilation: [1, 1] },
  { x: [1, 13, 10, 5], k: [3, 3], out: 6, stride: [2, 2], pad: [1, 1], dilation: [1, 1] },
  { x: [2, 17, 17, 3], k: [7, 7], out: 4, stride: [2, 2], pad: [3, 3], dilation: [1, 1] },
  { x: [1, 12, 15, 2], k: [11, 11], out: 3, stride: [4, 4], pad: [2, 2], dilation: [1, 1] },
  { x: [2, 10, 9, 4], k: [3, 3], out: 4, stride: [1, 1], pad: [2, 2], dilation: [2, 2] },
  { x: [1, 8, 8, 3], k: [1, 7], out: 2, stride: [1, 1], pad: [0, 3], dilation: [1, 1] },
  { x: [1, 14, 14, 3], k: [1, 1], out: 5, stride: [2, 2], pad: [0, 0], dilation: [1, 1] },
];

/** A dilated kernel as an ordinary one with zeros between taps (tfjs has no dilated conv gradient). */
function dilateKernel(w: Float32Array, c: Case): { w: Float32Array; k: [number, number] } {
  const [dh, dw] = c.dilation;
  const k: [number, number] = [dh * (c.k[0] - 1) + 1, dw * (c.k[1] - 1) + 1];
  const io = c.x[3] * c.out;
  const out = new Float32Array(k[0] * k[1] * io);
  for (let i = 0; i < c.k[0]; i++)
    for (let j = 0; j < c.k[1]; j++) for (let t = 0; t < io; t++) out[(i * dh * k[1] + j * dw) * io + t] = w[(i * c.k[1] + j) * io + t];
  return { w: out, k };
}

/** Reference: tfjs' built-in conv2d and its gradient on the cpu backend. */
async function reference(c: Case, x: Float32Array, w0: Float32Array, dy: Float32Array) {
  await tf.setBackend('cpu');
  const { w, k } = dilateKernel(w0, c);
  const wt = tf.tensor4d(w, [k[0], k[1], c.x[3], c.out]);
  const f = (xi: tf.Tensor4D) =>
    tf.conv2d(xi, wt, c.stride, [
      [0, 0],
      [c.pad[0], c.pad[0]],
      [c.pad[1], c.pad[1]],
      [0, 0],
    ]);
  const xt = tf.tensor4d(x, c.x);
  const y = f(xt);
  const dyt = tf.tensor(dy, y.shape);
  const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor4D), dyt)))(xt);
  const out = { y: await y.data(), dx: await dx.data(), yShape: y.shape };
  tf.dispose([wt, xt, y, dyt, dx]);
  return out;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>) {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / (m || 1);
}

describe('FrozenConv2d: input gradient as a forward convolution', () => {
  it.each(CASES.map((c, i) => [i, c] as const))('case %d equals the built-in gradient (cpu), on wasm', async (i, c) => {
    const x = rnd(
      c.x.reduce((a, b) => a * b, 1),
      10 + i,
    );
    const w = rnd(c.k[0] * c.k[1] * c.x[3] * c.out, 20 + i);
    // output size from the reference run with a dummy dy of the right size
    const oh = Math.floor((c.x[1] + 2 * c.pad[0] - c.dilation[0] * (c.k[0] - 1) - 1) / c.stride[0]) + 1;
    const ow = Math.floor((c.x[2] + 2 * c.pad[1] - c.dilation[1] * (c.k[1] - 1) - 1) / c.stride[1]) + 1;
    const dy = rnd(c.x[0] * oh * ow * c.out, 30 + i);
    const ref = await reference(c, x, w, dy);

    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const conv = new FrozenConv2d(tf.tensor4d(w, [c.k[0], c.k[1], c.x[3], c.out]), null, {
      stride: c.stride,
      pad: c.pad,
      dilation: c.dilation,
    });
    const xt = tf.tensor4d(x, c.x);
    const y = conv.forward(xt);
    expect(y.shape).toEqual(ref.yShape);
    const dyt = tf.tensor(dy, y.shape);
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(conv.forward(xi as tf.Tensor4D), dyt)))(xt);
    // tolerance: float32 accumulation-order differences only
    expect(maxRel(await y.data(), ref.y)).toBeLessThan(1e-5);
    expect(maxRel(await dx.data(), ref.dx)).toBeLessThan(1e-5);
    tf.dispose([xt, y, dyt, dx]);
    conv.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
