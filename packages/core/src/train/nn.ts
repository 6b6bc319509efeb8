/**
 * Functional layers for trainable models over a ParamStore, PyTorch semantics, NHWC.
 *
 * Each layer takes the store and a layer name and creates its parameters on first use (see
 * params.ts for why lazily, and for the layouts): `conv(store, 'enc1', x, {...})` owns
 * `enc1.weight` and `enc1.bias`. Initialisation is PyTorch's default (U(+-1/sqrt(fan_in)) for
 * weights and biases; BatchNorm weight 1, bias 0, running mean 0, running var 1).
 *
 * All layers have gradients on the wasm backend; per-channel sums are [1, M] x [M, C] products
 * because on wasm a reduction over the leading axes of NHWC transposes the whole tensor first
 * (~8x slower, measured on [4, 72, 72, 64]).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';
import { inputError } from '../errors';
import type { Pair } from '../ops/conv-spec';
import { conv2d } from '../ops/conv-train';
import { convTranspose2d } from '../ops/conv-transpose';
import { pad2d } from '../ops/pad';
import { mulberry32 } from '../util/random';
import { type ParamStore, torchDefaultInit } from './params';

export type IntOrPair = number | Pair;
const pair = (v: IntOrPair): Pair => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function checkRank(op: string, x: tf.Tensor, ranks: number[], layout: string): void {
  if (!ranks.includes(x.rank))
    throw inputError(`${op} x`, `must be rank ${ranks.join(' or ')} (${layout}), got shape [${x.shape.join(', ')}]`);
}

export interface ConvOptions {
  out: number;
  k: IntOrPair;
  stride?: IntOrPair;
  /** Symmetric padding per side (PyTorch `padding`). Default 0. */
  pad?: IntOrPair;
  dilation?: IntOrPair;
  /** Default true. */
  bias?: boolean;
  /** PyTorch `padding_mode`: 'zeros' (default), 'reflect' or 'replicate'. */
  padMode?: 'zeros' | 'reflect' | 'replicate';
}

/**
 * torch.nn.Conv2d(C_in, out, k, stride, pad, dilation, bias, padding_mode) on NHWC x.
 * Parameters `name`.weight HWIO [kh, kw, C_in, out] and `name`.bias [out]; fan_in = C_in*kh*kw.
 */
export function conv(store: ParamStore, name: string, x: tf.Tensor4D, o: ConvOptions): tf.Tensor4D {
  checkRank(`conv '${name}'`, x, [4], 'NHWC');
  const [kh, kw] = pair(o.k);
  const cin = x.shape[3];
  const init = torchDefaultInit(cin * kh * kw);
  const w = store.param<tf.Rank.R4>(`${name}.weight`, [kh, kw, cin, o.out], init);
  const b = o.bias === false ? null : store.param<tf.Rank.R1>(`${name}.bias`, [o.out], init);
  const pad = pair(o.pad ?? 0);
  const spec = { stride: pair(o.stride ?? 1), dilation: pair(o.dilation ?? 1) };
  const mode = o.padMode ?? 'zeros';
  if (mode === 'zeros' || (pad[0] === 0 && pad[1] === 0)) return conv2d(x, w, b, { ...spec, pad });
  // PyTorch pads non-zero modes explicitly, then convolves without padding
  return tf.tidy(() => conv2d(pad2d(x, [pad[0], pad[0], pad[1], pad[1]], mode), w, b, { ...spec, pad: [0, 0] }));
}

export interface ConvTransposeOptions {
  out: number;
  k: IntOrPair;
  stride?: IntOrPair;
  pad?: IntOrPair;
  /** Extra rows/cols at the bottom/right (PyTorch `output_padding`). Default 0. */
  outputPadding?: IntOrPair;
  dilation?: IntOrPair;
  bias?: boolean;
}

/**
 * torch.nn.ConvTranspose2d(C_in, out, k, stride, pad, output_padding, 1, bias, dilation) on
 * NHWC x. Parameters `name`.weight [kh, kw, out, C_in] (torch's [C_in, out, kh, kw] permuted
 * (2, 3, 1, 0)) and `name`.bias [out]. PyTorch computes fan_in from weight dim 1, so here
 * fan_in = out*kh*kw (not C_in*kh*kw).
 */
export function convTranspose(store: ParamStore, name: string, x: tf.Tensor4D, o: ConvTransposeOptions): tf.Tensor4D {
  checkRank(`convTranspose '${name}'`, x, [4], 'NHWC');
  const [kh, kw] = pair(o.k);
  const cin = x.shape[3];
  const init = torchDefaultInit(o.out * kh * kw);
  const w = store.param<tf.Rank.R4>(`${name}.weight`, [kh, kw, o.out, cin], init);
  const b = o.bias === false ? null : store.param<tf.Rank.R1>(`${name}.bias`, [o.out], init);
  return convTranspose2d(x, w, b, {
    stride: pair(o.stride ?? 1),
    pad: pair(o.pad ?? 0),
    outputPadding: pair(o.outputPadding ?? 0),
    dilation: pair(o.dilation ?? 1),
  });
}

export interface LinearOptions {
  out: number;
  bias?: boolean;
}

/** torch.nn.Linear(C_in, out, bias) on x [N, C_in]. `name`.weight is [C_in, out] (torch's transposed). */
export function linear(store: ParamStore, name: string, x: tf.Tensor2D, o: LinearOptions): tf.Tensor2D {
  checkRank(`linear '${name}'`, x, [2], '[N, features]');
  const cin = x.shape[1];
  const init = torchDefaultInit(cin);
  const w = store.param<tf.Rank.R2>(`${name}.weight`, [cin, o.out], init);
  if (o.bias === false) return tf.matMul(x, w);
  const b = store.param<tf.Rank.R1>(`${name}.bias`, [o.out], init);
  return tf.tidy(() => tf.add(tf.matMul(x, w), b));
}

/** Per-channel means of x2 [M, C] as [1, C], by a GEMM (see the file header). */
const channelMean = (x2: tf.Tensor2D, ones: tf.Tensor2D, m: number): tf.Tensor2D => tf.div(tf.matMul(ones, x2), m);

/**
 * Training-mode batch norm as one customGrad: batch statistics over every axis but the last,
 * the biased variance to normalise, and the running statistics moved (with the unbiased
 * variance, as PyTorch does) by assign inside the forward function, which tfjs runs with the
 * gradient tape paused: the update is never differentiated.
 */
function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Variable,
  beta: tf.Variable,
  runMean: tf.Variable,
  runVar: tf.Variable,
  momentum: number,
  eps: number,
): tf.Tensor {
  const c = x.shape[x.rank - 1];
  const m = x.size / c;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, xhat, scale] = tf.tidy((): [tf.Tensor, tf.Tensor, tf.Tensor] => {
      const x2 = tf.reshape(xi, [m, c]) as tf.Tensor2D;
      const ones = tf.ones([1, m]) as tf.Tensor2D;
      const mean = channelMean(x2, ones, m);
      const d = tf.sub(x2, mean);
      const varB = channelMean(tf.square(d) as tf.Tensor2D, ones, m);
      const rstd = tf.rsqrt(tf.add(varB, eps));
      const xh = tf.mul(d, rstd);
      runMean.assign(tf.reshape(tf.add(tf.mul(runMean, 1 - momentum), tf.mul(mean, momentum)), [c]));
      runVar.assign(tf.reshape(tf.add(tf.mul(runVar, 1 - momentum), tf.mul(varB, (momentum * m) / (m - 1))), [c]));
      return [tf.reshape(tf.add(tf.mul(xh, g), b), xi.shape), xh, tf.mul(rstd, g)];
    });
    save([xhat, scale]);
    // dx = gamma*rstd * (dy - mean(dy) - xhat*mean(dy*xhat)); dgamma = sum(dy*xhat); dbeta = sum(dy)
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [xh, sc] = saved;
        const dy2 = tf.reshape(dy, [m, c]) as tf.Tensor2D;
        const ones = tf.ones([1, m]) as tf.Tensor2D;
        const sdy = tf.matMul(ones, dy2);
        const sdyx = tf.matMul(ones, tf.mul(dy2, xh) as tf.Tensor2D);
        const dx = tf.mul(tf.sub(tf.sub(dy2, tf.div(sdy, m)), tf.mul(xh, tf.div(sdyx, m))), sc);
        return [tf.reshape(dx, dy.shape), tf.reshape(sdyx, [c]), tf.reshape(sdy, [c])];
      });
    return { value: y, gradFunc };
  });
  return f(x, gamma, beta);
}

/**
 * torch.nn.BatchNorm2d (x NHWC) / BatchNorm1d (x [N, C]) with affine parameters and running
 * statistics: `name`.weight (1), `name`.bias (0), `name`.running_mean (0, non-trainable),
 * `name`.running_var (1, non-trainable).
 * training: normalises with the batch statistics and moves the running ones
 *   (running = (1 - momentum)*running + momentum*batch, unbiased batch variance);
 * eval: normalises with the running statistics.
 */
export function batchNorm<T extends tf.Tensor>(store: ParamStore, name: string, x: T, training: boolean, momentum = 0.1, eps = 1e-5): T {
  checkRank(`batchNorm '${name}'`, x, [2, 4], 'NHWC or [N, C]');
  const c = x.shape[x.rank - 1];
  const gamma = store.param(`${name}.weight`, [c], { kind: 'constant', value: 1 });
  const beta = store.param(`${name}.bias`, [c], { kind: 'constant', value: 0 });
  const runMean = store.param(`${name}.running_mean`, [c], { kind: 'constant', value: 0 }, false);
  const runVar = store.param(`${name}.running_var`, [c], { kind: 'constant', value: 1 }, false);
  if (training) {
    if (x.size / c < 2) {
      throw inputError(
        `batchNorm '${name}' x`,
        `has one value per channel (shape [${x.shape.join(', ')}]); batch statistics need at least two`,
        'use a batch larger than 1 (or eval mode)',
      );
    }
    return batchNormTrain(x, gamma, beta, runMean, runVar, momentum, eps) as T;
  }
  return tf.tidy(() => {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(runVar, eps)));
    return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(runMean, scale))) as T;
  });
}

/**
 * torch.nn.Upsample(scale_factor=2, mode='nearest') on NHWC x (output pixel (i, j) copies input
 * (floor(i/2), floor(j/2))). Forward: tf.image.resizeNearestNeighbor; backward: each input
 * pixel receives the sum of its 2x2 block, 4 * avgPool(dy, 2, 2), ~8x faster on wasm than
 * tfjs' registered ResizeNearestNeighborGrad.
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  checkRank('upsampleNearest2x', x, [4], 'NHWC');
  const [, h, w] = x.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xi = args[0] as tf.Tensor4D;
    const value = tf.image.resizeNearestNeighbor(xi, [2 * h, 2 * w], false, false);
    const gradFunc = (dy: tf.Tensor) => tf.tidy(() => tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, 'valid'), 4));
    return { value, gradFunc };
  });
  return f(x) as tf.Tensor4D;
}

/** torch.nn.LeakyReLU(negative_slope); PyTorch's default slope is 0.01 (LPIPS' head uses 0.2). */
export const leakyRelu = <T extends tf.Tensor>(x: T, alpha = 0.01): T => tf.leakyRelu(x, alpha);

/**
 * torch.nn.Dropout(rate): in training, zeroes each element with probability `rate` and scales
 * the rest by 1/(1 - rate); in eval, returns x itself. The mask comes from mulberry32(seed), so
 * it is the same on every backend: pass a different seed each step (e.g.
 * hashSeed(runSeed, `dropout/${step}`)), or every step drops the same elements.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, training: boolean, seed: number): T {
  if (!(rate >= 0 && rate <= 1)) throw inputError('dropout rate', `must be in [0, 1], got ${rate}`);
  if (!training || rate === 0) return x;
  if (rate === 1) return tf.mul(x, 0);
  const rand = mulberry32(seed);
  const keep = 1 / (1 - rate);
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rand() < rate ? 0 : keep;
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape)));
}
