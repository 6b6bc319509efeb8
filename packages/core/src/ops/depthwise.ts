/**
 * Depthwise convolution (torch Conv2d with groups = C_in, out = C_in * m), NHWC, kernel in tfjs
 * layout [kh, kw, C, m]; output channel c*m + q comes from input channel c. wasm has no
 * DepthwiseConv2dNativeBackprop* kernels, so both gradients are forward depthwise convs:
 *   dx = depthwise conv (stride 1, dilation d) of dy zero-inserted by s (not by phases, see
 *        input-grad.ts), with the kernel rotated 180 degrees and seen as [kh, kw, C*m, 1]; the m
 *        results per input channel are summed;
 *   dw = depthwise conv of x seen as one image with N*C channels ([1, H, W, N*C]) with dy as the
 *        filter [OH, OW, N*C, m], stride d and dilation s; summed over N.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError } from '../errors';
import { type Conv2DSpec, type Pads4, type Pair, checkBias, checkConvFits, checkConvSpec, checkRank4 } from './conv-spec';
import { filterGradPads, withPadsAndStride } from './conv-train';
import { type ConvImpl, type Shape4, frozenConv, trainableConv } from './custom-conv';
import { transposedConv } from './input-grad';

/** tf.depthwiseConv2d with per-side padding (negative = crop) and any stride/dilation mix. */
export function depthwiseRaw(x: tf.Tensor4D, w: tf.Tensor4D, stride: Pair, pads: Pads4, dilation: Pair): tf.Tensor4D {
  return withPadsAndStride(x, stride, pads, dilation, (xc, s, p, d) => tf.depthwiseConv2d(xc, w, s, p, 'NHWC', d));
}

/** dL/dx of a depthwise conv with kernel w [kh, kw, C, m]. */
export function depthwiseInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[], spec: Conv2DSpec): tf.Tensor4D {
  const [, , c, m] = w.shape;
  return transposedConv(
    dy,
    w,
    xShape[1],
    xShape[2],
    c,
    spec,
    (inp, wf, pads) =>
      tf.tidy(() => {
        const [th, tw] = wf.shape;
        const wRot = tf.reshape(tf.reverse(wf, [0, 1]), [th, tw, c * m, 1]) as tf.Tensor4D;
        const z = depthwiseRaw(inp, wRot, [1, 1], pads, spec.dilation);
        if (m === 1) return z;
        const [n, h, wd] = z.shape;
        return tf.sum(tf.reshape(z, [n, h, wd, c, m]), 4) as tf.Tensor4D;
      }),
    false,
  );
}

/** dL/dw of a depthwise conv, [kh, kw, C, m]. */
export function depthwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, wShape: readonly number[], spec: Conv2DSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, m] = wShape;
    const [n, h, w] = x.shape;
    const [, oh, ow] = dy.shape;
    // x: one image whose channels are (n, c); dy: one filter per (n, c) with m outputs each
    const xt = n === 1 ? x : (tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]) as tf.Tensor4D);
    const f = tf.reshape(n === 1 ? dy : tf.transpose(dy, [1, 2, 0, 3]), [oh, ow, n * c, m]) as tf.Tensor4D;
    const out = depthwiseRaw(xt, f, spec.dilation, filterGradPads(x.shape, dy.shape, [kh, kw], spec), spec.stride);
    const r = tf.reshape(out, [kh, kw, n, c, m]);
    return n === 1 ? tf.reshape(r, [kh, kw, c, m]) : tf.sum(r, 2);
  });
}

const pads4 = (spec: Conv2DSpec): Pads4 => [spec.pad[0], spec.pad[0], spec.pad[1], spec.pad[1]];

/** The ConvImpl of a depthwise conv with kernel [kh, kw, C, m]. */
export function depthwiseImpl(spec: Conv2DSpec): ConvImpl {
  return {
    forward: (x, w) => depthwiseRaw(x, w, spec.stride, pads4(spec), spec.dilation),
    inputGrad: (dy, w, xShape: Shape4) => depthwiseInputGrad(dy, w, xShape, spec),
    filterGrad: (x, dy, wShape: Shape4) => depthwiseFilterGrad(x, dy, wShape, spec),
  };
}

function checkDepthwise(op: string, x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: Conv2DSpec): Conv2DSpec {
  const s = checkConvSpec(op, spec);
  checkRank4(op, 'x', x.shape, 'NHWC');
  checkRank4(op, 'w', w.shape, '[kh, kw, C, multiplier]');
  if (w.shape[2] !== x.shape[3]) {
    throw inputError(
      `${op} w`,
      `has ${w.shape[2]} channels (w.shape[2]) but x has ${x.shape[3]}`,
      'a depthwise kernel is [kh, kw, C, multiplier]; from torch [C*m, 1, kh, kw] reshape to [C, m, kh, kw] and permute to (2, 3, 0, 1)',
    );
  }
  checkConvFits(op, x.shape, w.shape[0], w.shape[1], s);
  checkBias(op, b ? b.shape : null, w.shape[2] * w.shape[3]);
  return s;
}

/**
 * Depthwise conv2d (torch Conv2d with groups = C), differentiable w.r.t. x, w and b on every
 * backend. x: [N, H, W, C]; w: [kh, kw, C, m]; b: [C*m] or null; output channel c*m + q.
 */
export function depthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: Conv2DSpec): tf.Tensor4D {
  const s = checkDepthwise('depthwiseConv2d', x, w, b, spec);
  return trainableConv(depthwiseImpl(s), x, w, b);
}

/**
 * Depthwise conv2d with frozen weights: differentiable w.r.t. x only (w and b are closed over
 * and must stay alive until the backward pass has run).
 */
export function depthwiseConv2dFrozen(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: Conv2DSpec): tf.Tensor4D {
  const s = checkDepthwise('depthwiseConv2dFrozen', x, w, b, spec);
  return frozenConv(depthwiseImpl(s), x, w, b);
}
