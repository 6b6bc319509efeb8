/**
 * Convolution hyper-parameters with PyTorch semantics (explicit symmetric padding) and the
 * shape arithmetic and argument checks shared by the trainable convolution ops.
 */
import { inputError } from '../errors';
import type { Pair } from '../graph/ir';

/** [along H, along W] (the graph IR's). */
export type { Pair };

/** [top, bottom, left, right]; a negative entry crops instead of padding. */
export type Pads4 = [number, number, number, number];

/** torch.nn.Conv2d's stride / padding / dilation (padding is symmetric, in pixels). */
export interface Conv2DSpec {
  stride: Pair;
  pad: Pair;
  dilation: Pair;
}

/** torch.nn.Conv2d with `groups` (in and out channels both divisible by it). */
export interface GroupedConv2DSpec extends Conv2DSpec {
  groups: number;
}

/** torch.nn.ConvTranspose2d's stride / padding / output_padding / dilation. */
export interface ConvTranspose2DSpec {
  stride: Pair;
  pad: Pair;
  /** Extra rows/cols at the bottom/right of the output; each < max(stride, dilation). Default 0. */
  outputPadding?: Pair;
  /** Default [1, 1]. */
  dilation?: Pair;
}

/** Output length of a forward convolution along one axis (PyTorch formula, floor mode). */
export function convOutLength(inLen: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((inLen + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** Output length of a transposed convolution along one axis (torch.nn.ConvTranspose2d). */
export function convTransposeOutLength(
  inLen: number,
  k: number,
  stride: number,
  pad: number,
  dilation: number,
  outputPadding: number,
): number {
  return (inLen - 1) * stride - 2 * pad + dilation * (k - 1) + outputPadding + 1;
}

const isInt = (v: number) => Number.isInteger(v);

function checkPair(op: string, name: string, p: unknown, min: number): Pair {
  if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && isInt(v) && v >= min)) {
    throw inputError(`${op} ${name}`, `must be two integers >= ${min} ([along H, along W]), got ${JSON.stringify(p)}`);
  }
  return [p[0] as number, p[1] as number];
}

/** Validates a Conv2DSpec; returns a normalised copy. */
export function checkConvSpec(op: string, spec: Conv2DSpec): Conv2DSpec {
  return {
    stride: checkPair(op, 'stride', spec.stride, 1),
    pad: checkPair(op, 'pad', spec.pad, 0),
    dilation: checkPair(op, 'dilation', spec.dilation, 1),
  };
}

/** Throws unless `t` has rank 4. */
export function checkRank4(op: string, name: string, shape: readonly number[], layout: string): void {
  if (shape.length !== 4) {
    throw inputError(`${op} ${name}`, `must be rank 4 (${layout}), got shape [${shape.join(', ')}]`);
  }
}

/**
 * Checks that the kernel fits the padded input, so the output has at least one pixel, and
 * returns the output [OH, OW].
 */
export function checkConvFits(op: string, xShape: readonly number[], kh: number, kw: number, spec: Conv2DSpec): Pair {
  const oh = convOutLength(xShape[1], kh, spec.stride[0], spec.pad[0], spec.dilation[0]);
  const ow = convOutLength(xShape[2], kw, spec.stride[1], spec.pad[1], spec.dilation[1]);
  if (oh < 1 || ow < 1) {
    throw inputError(
      `${op} x`,
      `spatial size ${xShape[1]}x${xShape[2]} with padding [${spec.pad}] is smaller than the dilated kernel ` +
        `(${spec.dilation[0] * (kh - 1) + 1}x${spec.dilation[1] * (kw - 1) + 1})`,
      'use a larger input or more padding',
    );
  }
  return [oh, ow];
}

/** Checks a bias against the number of output channels. */
export function checkBias(op: string, bShape: readonly number[] | null, outChannels: number): void {
  if (bShape !== null && (bShape.length !== 1 || bShape[0] !== outChannels)) {
    throw inputError(`${op} b`, `must have shape [${outChannels}] (one per output channel), got [${bShape.join(', ')}]`);
  }
}
