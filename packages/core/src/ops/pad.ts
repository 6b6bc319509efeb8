/**
 * Spatial padding of NHWC images with torch.nn.functional.pad semantics, differentiable on every
 * backend. tfjs 4.22's registered MirrorPad gradient only slices the centre out of dy, dropping
 * the gradient that flows through the mirrored border pixels, and tfjs has no replicate (edge)
 * padding at all; so the whole op is one customGrad whose gradient folds the border bands of dy
 * back onto the pixels they were copied from (slice / reverse / sum / pad / add).
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError } from '../errors';

export type PadMode = 'constant' | 'reflect' | 'replicate';

/** [top, bottom, left, right] */
export type Pad2d = [number, number, number, number];

/** `size` entries of x along `axis` from `begin`. */
function sliceAxis(x: tf.Tensor4D, axis: 1 | 2, begin: number, size: number): tf.Tensor4D {
  const b = [0, 0, 0, 0],
    s = [...x.shape];
  b[axis] = begin;
  s[axis] = size;
  return tf.slice(x, b, s);
}

/** Zero-pads x along `axis` by (before, after). */
function padAxis(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  const p: [number, number][] = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  p[axis] = [before, after];
  return tf.pad(x, p);
}

/** Edge replication along one axis: the first/last entry repeated before/after times. */
function replicateAxis(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  const len = x.shape[axis];
  const reps = (n: number) => {
    const r = [1, 1, 1, 1];
    r[axis] = n;
    return r;
  };
  const parts: tf.Tensor4D[] = [];
  if (before > 0) parts.push(tf.tile(sliceAxis(x, axis, 0, 1), reps(before)));
  parts.push(x);
  if (after > 0) parts.push(tf.tile(sliceAxis(x, axis, len - 1, 1), reps(after)));
  return parts.length === 1 ? x : tf.concat(parts, axis);
}

/**
 * The adjoint of padding one axis of length `len` by (before, after): the gradient w.r.t. the
 * unpadded input given the gradient `dy` of the padded tensor.
 */
function foldAxis(dy: tf.Tensor4D, axis: 1 | 2, before: number, after: number, len: number, mode: PadMode): tf.Tensor4D {
  if (before === 0 && after === 0) return dy;
  const parts = [sliceAxis(dy, axis, before, len)];
  if (mode === 'reflect') {
    // padded position before-1-k copies input k+1; position before+len+k copies input len-2-k
    if (before > 0) parts.push(padAxis(tf.reverse(sliceAxis(dy, axis, 0, before), axis), axis, 1, len - 1 - before));
    if (after > 0) parts.push(padAxis(tf.reverse(sliceAxis(dy, axis, before + len, after), axis), axis, len - 1 - after, 1));
  } else if (mode === 'replicate') {
    if (before > 0) parts.push(padAxis(tf.sum(sliceAxis(dy, axis, 0, before), axis, true), axis, 0, len - 1));
    if (after > 0) parts.push(padAxis(tf.sum(sliceAxis(dy, axis, before + len, after), axis, true), axis, len - 1, 0));
  }
  return parts.length === 1 ? parts[0] : (tf.addN(parts) as tf.Tensor4D);
}

function check(x: tf.Tensor4D, pads: Pad2d, mode: PadMode): void {
  if (x.rank !== 4) throw inputError('pad2d x', `must be rank 4 (NHWC), got shape [${x.shape.join(', ')}]`);
  if (!Array.isArray(pads) || pads.length !== 4 || !pads.every((p) => Number.isInteger(p) && p >= 0)) {
    throw inputError('pad2d pads', `must be four integers >= 0 [top, bottom, left, right], got ${JSON.stringify(pads)}`);
  }
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'replicate') {
    throw inputError('pad2d mode', `must be 'constant', 'reflect' or 'replicate', got '${String(mode)}'`);
  }
  const [, h, w] = x.shape;
  if (mode === 'reflect' && (pads[0] >= h || pads[1] >= h || pads[2] >= w || pads[3] >= w)) {
    throw inputError(
      'pad2d pads',
      `reflect padding must be smaller than the input (${h}x${w}), got [${pads.join(', ')}]`,
      'as in PyTorch, pad by less than the image size',
    );
  }
  if (mode === 'replicate' && (h === 0 || w === 0)) throw inputError('pad2d x', 'replicate padding needs a non-empty image');
}

/**
 * torch.nn.functional.pad(x, (left, right, top, bottom), mode, value) for NHWC x, given as
 * [top, bottom, left, right]. 'reflect' mirrors without repeating the edge (tf.mirrorPad
 * 'reflect'); 'replicate' repeats the edge. Differentiable w.r.t. x on every backend.
 */
export function pad2d(x: tf.Tensor4D, pads: Pad2d, mode: PadMode = 'constant', value = 0): tf.Tensor4D {
  check(x, pads, mode);
  const [t, b, l, r] = pads;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([]);
    const [, h, w] = xi.shape;
    const paddings: [number, number][] = [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ];
    const out = tf.tidy((): tf.Tensor4D => {
      if (mode === 'constant') return tf.pad(xi, paddings, value);
      if (mode === 'reflect') return tf.mirrorPad(xi, paddings, 'reflect');
      const y = replicateAxis(replicateAxis(xi, 1, t, b), 2, l, r);
      return y === xi ? tf.clone(xi) : y; // a customGrad value must be a new tensor
    });
    // padding H and W act on different axes, so their adjoints commute
    const gradFunc = (dy: tf.Tensor) => tf.tidy(() => foldAxis(foldAxis(dy as tf.Tensor4D, 2, l, r, w, mode), 1, t, b, h, mode));
    return { value: out, gradFunc };
  });
  return f(x) as tf.Tensor4D;
}
