/**
 * A trainable 2-D convolution (PyTorch Conv2d semantics, NHWC, HWIO kernel) whose gradients are
 * forward convolutions: the wasm backend has no Conv2DBackpropFilter kernel and its
 * Conv2DBackpropInput is a plain loop ~10x slower than XNNPACK's forward conv.
 *
 * Notation per spatial axis: input length H, kernel k, stride s, padding p, dilation d,
 * output length OH, dilated kernel extent K = d*(k-1).
 *   y[i]  = sum_a xpad[i*s + a*d] * w[a]                (xpad = x padded by p)
 *   dx    = stride-1, dilation-d conv of dy zero-inserted by s, padded by K-p on top, with the
 *           kernel rotated 180 degrees and its in/out channels swapped (for d = 1 computed
 *           phase by phase without the inserted zeros, see input-grad.ts);
 *   dw[a] = sum_i xpad[a*d + i*s] * dy[i]: a conv of x (channels moved to the batch axis) with
 *           dy as the filter (batch moved to the in-channel axis), stride d and dilation s;
 *   db    = sum of dy over N, H, W.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError } from '../errors';
import { type Conv2DSpec, type Pads4, type Pair, checkBias, checkConvFits, checkConvSpec, checkRank4 } from './conv-spec';
import { type ConvImpl, type Shape4, frozenConv, trainableConv } from './custom-conv';
import { transposedConv } from './input-grad';
import { padOrCrop, subsample } from './zero-insert';

type Explicit = [[number, number], [number, number], [number, number], [number, number]];

/** tfjs explicit padding for the non-negative parts of `pads`. */
export const explicitPads = (pads: Pads4): Explicit => [
  [0, 0],
  [Math.max(0, pads[0]), Math.max(0, pads[1])],
  [Math.max(0, pads[2]), Math.max(0, pads[3])],
  [0, 0],
];

/** Crops the negative parts of `pads` off x (the positive parts are left to the conv). */
export const cropNegative = (x: tf.Tensor4D, pads: Pads4): tf.Tensor4D =>
  padOrCrop(x, Math.min(0, pads[0]), Math.min(0, pads[1]), Math.min(0, pads[2]), Math.min(0, pads[3]));

/**
 * Runs `conv(x, stride, explicitPads, dilation)` with per-side padding (negative = crop) and any
 * stride/dilation combination: tfjs refuses stride > 1 together with dilation > 1, so that case
 * runs at stride 1 and keeps every s-th output (s^2 times the work). No torchvision backbone
 * has such a conv; when a forward conv does, its dw conv (stride d, dilation s) has both too.
 */
export function withPadsAndStride(
  x: tf.Tensor4D,
  stride: Pair,
  pads: Pads4,
  dilation: Pair,
  conv: (x: tf.Tensor4D, stride: Pair, pad: Explicit, dilation: Pair) => tf.Tensor4D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const xc = cropNegative(x, pads);
    const p = explicitPads(pads);
    const strided = stride[0] > 1 || stride[1] > 1;
    const dilated = dilation[0] > 1 || dilation[1] > 1;
    if (!(strided && dilated)) return conv(xc, stride, p, dilation);
    const full = conv(xc, [1, 1], p, dilation);
    const oh = Math.floor((full.shape[1] - 1) / stride[0]) + 1;
    const ow = Math.floor((full.shape[2] - 1) / stride[1]) + 1;
    return subsample(full, stride[0], stride[1], oh, ow);
  });
}

/** Forward conv (HWIO filter) with per-side padding and any stride/dilation combination. */
export function convRaw(x: tf.Tensor4D, w: tf.Tensor4D, stride: Pair, pads: Pads4, dilation: Pair): tf.Tensor4D {
  return withPadsAndStride(x, stride, pads, dilation, (xc, s, p, d) => tf.conv2d(xc, w, s, p, 'NHWC', d));
}

/** The padding of x in the dw conv that makes its output exactly k long. */
export function filterGradPads(xShape: readonly number[], dyShape: readonly number[], k: Pair, spec: Conv2DSpec): Pads4 {
  const {
    stride: [sh, sw],
    pad: [ph, pw],
    dilation: [dh, dw],
  } = spec;
  return [
    ph,
    dh * (k[0] - 1) + sh * (dyShape[1] - 1) + 1 - xShape[1] - ph,
    pw,
    dw * (k[1] - 1) + sw * (dyShape[2] - 1) + 1 - xShape[2] - pw,
  ];
}

/** 180-degree rotation with in/out channels swapped: HWIO [kh,kw,in,out] -> [kh,kw,out,in]. */
export const rotateSwap = (w: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]));

/**
 * dL/dx of a patch conv (kernel = stride, no padding, dilation 1: ViT's patch embedding): the
 * patches do not overlap, so dx is one matrix product dy [N*OH*OW, O] x w^T [O, kh*kw*C] laid back
 * out patch by patch (rows and columns the conv never read get zero). The phase form would run
 * kh*kw 1x1 convs (1024 for a 32x32 patch).
 */
function patchConvInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, o] = w.shape;
    const [n, oh, ow] = dy.shape;
    const cols = tf.matMul(tf.reshape(dy, [n * oh * ow, o]), tf.reshape(w, [kh * kw * c, o]), false, true);
    // [(n, i), j, a, (b, c)] -> [(n, i), a, j, (b, c)]: pixel (i*kh + a, j*kw + b)
    const patches = tf.transpose(tf.reshape(cols, [n * oh, ow, kh, kw * c]), [0, 2, 1, 3]);
    const dx = tf.reshape(patches, [n, oh * kh, ow * kw, c]) as tf.Tensor4D;
    return padOrCrop(dx, 0, xShape[1] - oh * kh, 0, xShape[2] - ow * kw);
  });
}

/** dL/dx of a conv: forward convs of dy (see input-grad.ts), or one matrix product for a patch conv. */
export function convInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[], spec: Conv2DSpec): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const patchConv =
    spec.stride[0] === kh && spec.stride[1] === kw && kh * kw > 1 && spec.pad.every((p) => p === 0) && spec.dilation.every((d) => d === 1);
  if (patchConv) return patchConvInputGrad(dy, w, xShape);
  return transposedConv(dy, w, xShape[1], xShape[2], w.shape[2], spec, (inp, wf, pads) =>
    convRaw(inp, rotateSwap(wf), [1, 1], pads, spec.dilation),
  );
}

/**
 * dL/dw of a conv, [kh, kw, C_in, C_out]: x as [C_in, H, W, N] convolved with dy as the filter
 * [OH, OW, N, C_out]; the forward stride becomes the dilation and the dilation the stride.
 */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: Pair, spec: Conv2DSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const xt = tf.transpose(x, [3, 1, 2, 0]);
    const f = tf.transpose(dy, [1, 2, 0, 3]);
    const out = convRaw(xt, f, spec.dilation, filterGradPads(x.shape, dy.shape, k, spec), spec.stride);
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

const pads4 = (spec: Conv2DSpec): Pads4 => [spec.pad[0], spec.pad[0], spec.pad[1], spec.pad[1]];

/** The ConvImpl of a dense (groups = 1) conv. */
export function denseConvImpl(spec: Conv2DSpec): ConvImpl {
  return {
    forward: (x, w) => convRaw(x, w, spec.stride, pads4(spec), spec.dilation),
    inputGrad: (dy, w, xShape: Shape4) => convInputGrad(dy, w, xShape, spec),
    filterGrad: (x, dy, wShape: Shape4) => convFilterGrad(x, dy, [wShape[0], wShape[1]], spec),
  };
}

function checkDense(op: string, x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: Conv2DSpec): Conv2DSpec {
  const s = checkConvSpec(op, spec);
  checkRank4(op, 'x', x.shape, 'NHWC');
  checkRank4(op, 'w', w.shape, 'HWIO [kh, kw, in, out]');
  if (w.shape[2] !== x.shape[3]) {
    throw inputError(
      `${op} w`,
      `has ${w.shape[2]} input channels (w.shape[2]) but x has ${x.shape[3]} (x.shape[3])`,
      'w must be HWIO [kh, kw, in, out]',
    );
  }
  checkConvFits(op, x.shape, w.shape[0], w.shape[1], s);
  checkBias(op, b ? b.shape : null, w.shape[3]);
  return s;
}

/**
 * torch.nn.functional.conv2d(x, w, b, stride, padding, dilation) in NHWC, differentiable
 * w.r.t. x, w and b on every backend (gradients are forward convs; see the file header).
 * x: [N, H, W, C_in]; w: HWIO [kh, kw, C_in, C_out]; b: [C_out] or null.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: Conv2DSpec): tf.Tensor4D {
  const s = checkDense('conv2d', x, w, b, spec);
  return trainableConv(denseConvImpl(s), x, w, b);
}

/** conv2d differentiable w.r.t. x only (w, b closed over; dw is never computed). */
export function conv2dInputOnly(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: Conv2DSpec): tf.Tensor4D {
  const s = checkDense('conv2d', x, w, b, spec);
  return frozenConv(denseConvImpl(s), x, w, b);
}
