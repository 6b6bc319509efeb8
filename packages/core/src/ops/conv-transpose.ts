/**
 * Transposed convolution with torch.nn.ConvTranspose2d semantics (groups = 1), NHWC.
 *
 * Kernel layout: w is [kh, kw, C_out, C_in], the layout tf.conv2dTranspose takes (torch's
 * weight [C_in, C_out, kh, kw] permuted (2, 3, 1, 0)). Output length per axis:
 *   (H - 1)*s - 2p + d*(k - 1) + output_padding + 1.
 *
 * tf.conv2dTranspose is the Conv2DBackpropInput kernel, a slow plain loop on wasm, so the
 * forward pass is made of forward convs: x zero-inserted by s, padded by d*(k-1) - p (plus
 * output_padding at the bottom/right), convolved at stride 1 / dilation d with the kernel rotated
 * 180 degrees (as HWIO [kh, kw, C_in, C_out]); for dilation 1 the same sum is computed phase by
 * phase without the inserted zeros (input-grad.ts). A transposed conv is the input-gradient of
 * the conv2d(stride s, pad p, dilation d) whose HWIO kernel is w, so
 *   dx = conv2d(dy, w, s, p, d) (cropped to H x W), dw = that conv's filter gradient with
 *   dy as its input and x as its output gradient, db = sum of dy over N, H, W.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError } from '../errors';
import { type Conv2DSpec, type ConvTranspose2DSpec, type Pair, checkBias, checkRank4, convTransposeOutLength } from './conv-spec';
import { convFilterGrad, convRaw, rotateSwap } from './conv-train';
import { type ConvImpl, type Shape4, frozenConv, trainableConv } from './custom-conv';
import { transposedConv } from './input-grad';

interface Resolved {
  stride: Pair;
  pad: Pair;
  outputPadding: Pair;
  dilation: Pair;
}

function checkPair(name: string, p: unknown, min: number): Pair {
  if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= min)) {
    throw inputError(`convTranspose2d ${name}`, `must be two integers >= ${min} ([along H, along W]), got ${JSON.stringify(p)}`);
  }
  return [p[0] as number, p[1] as number];
}

function resolve(spec: ConvTranspose2DSpec): Resolved {
  const r: Resolved = {
    stride: checkPair('stride', spec.stride, 1),
    pad: checkPair('pad', spec.pad, 0),
    outputPadding: checkPair('outputPadding', spec.outputPadding ?? [0, 0], 0),
    dilation: checkPair('dilation', spec.dilation ?? [1, 1], 1),
  };
  for (const a of [0, 1]) {
    if (r.outputPadding[a] >= Math.max(r.stride[a], r.dilation[a])) {
      throw inputError(
        'convTranspose2d outputPadding',
        `must be smaller than stride or dilation (as in PyTorch), got ${r.outputPadding[a]} with stride ${r.stride[a]} and dilation ${r.dilation[a]}`,
      );
    }
  }
  return r;
}

/** The forward conv2d spec whose input-gradient this transposed conv is. */
const adjointSpec = (r: Resolved): Conv2DSpec => ({ stride: r.stride, pad: r.pad, dilation: r.dilation });

/** Output [OH, OW] of the transposed conv. */
export function convTransposeOutShape(xShape: readonly number[], k: Pair, spec: ConvTranspose2DSpec): Pair {
  const r = resolve(spec);
  return [
    convTransposeOutLength(xShape[1], k[0], r.stride[0], r.pad[0], r.dilation[0], r.outputPadding[0]),
    convTransposeOutLength(xShape[2], k[1], r.stride[1], r.pad[1], r.dilation[1], r.outputPadding[1]),
  ];
}

function transposeImpl(r: Resolved): ConvImpl {
  const [ph, pw] = r.pad,
    [oph, opw] = r.outputPadding;
  return {
    // the input gradient of the adjoint conv, evaluated at the output size
    forward: (x, w) => {
      const [oh, ow] = convTransposeOutShape(x.shape, [w.shape[0], w.shape[1]], r);
      return transposedConv(x, w, oh, ow, w.shape[2], adjointSpec(r), (inp, wf, pads) =>
        convRaw(inp, rotateSwap(wf), [1, 1], pads, r.dilation),
      );
    },
    // bottom/right padding p - output_padding keeps dx exactly H x W (negative crops rows of dy
    // that no input pixel reached)
    inputGrad: (dy, w) => convRaw(dy, w, r.stride, [ph, ph - oph, pw, pw - opw], r.dilation),
    filterGrad: (x, dy, wShape: Shape4) => convFilterGrad(dy, x, [wShape[0], wShape[1]], adjointSpec(r)),
  };
}

function check(op: string, x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: ConvTranspose2DSpec): Resolved {
  const r = resolve(spec);
  checkRank4(op, 'x', x.shape, 'NHWC');
  checkRank4(op, 'w', w.shape, '[kh, kw, C_out, C_in]');
  if (w.shape[3] !== x.shape[3]) {
    throw inputError(
      `${op} w`,
      `has ${w.shape[3]} input channels (w.shape[3]) but x has ${x.shape[3]}`,
      'w must be [kh, kw, C_out, C_in]: torch ConvTranspose2d weight [C_in, C_out, kh, kw] permuted (2, 3, 1, 0)',
    );
  }
  const [oh, ow] = convTransposeOutShape(x.shape, [w.shape[0], w.shape[1]], r);
  if (oh < 1 || ow < 1) {
    throw inputError(
      `${op} pad`,
      `[${r.pad}] leaves an empty output (${oh}x${ow}) for a ${x.shape[1]}x${x.shape[2]} input`,
      'reduce the padding',
    );
  }
  checkBias(op, b ? b.shape : null, w.shape[2]);
  return r;
}

/**
 * torch.nn.functional.conv_transpose2d(x, weight, b, stride, padding, output_padding, 1,
 * dilation) in NHWC, differentiable w.r.t. x, w and b on every backend.
 * x: [N, H, W, C_in]; w: [kh, kw, C_out, C_in]; b: [C_out] or null.
 */
export function convTranspose2d(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: ConvTranspose2DSpec): tf.Tensor4D {
  const r = check('convTranspose2d', x, w, b, spec);
  return trainableConv(transposeImpl(r), x, w, b);
}

/** convTranspose2d differentiable w.r.t. x only (w, b closed over, kept alive by the caller). */
export function convTranspose2dFrozen(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: ConvTranspose2DSpec): tf.Tensor4D {
  const r = check('convTranspose2dFrozen', x, w, b, spec);
  return frozenConv(transposeImpl(r), x, w, b);
}
