import * as tf from '@tensorflow/tfjs-core';
import { poolOut } from '../graph/shapes';

export interface PoolSpec {
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  ceil: boolean;
  countIncludePad: boolean;
}

/**
 * Extra bottom/right padding so that a 'valid' pool over the padded input yields PyTorch's
 * output size (ceil_mode windows may hang past the padded input).
 */
function overhang(size: number, k: number, s: number, p: number, ceil: boolean): { out: number; extra: number } {
  const out = poolOut(size, k, s, p, ceil);
  return { out, extra: Math.max(0, (out - 1) * s + k - (size + 2 * p)) };
}

/** PyTorch max_pool2d (explicit padding, ceil_mode); padding never wins a max. */
export function maxPool2d(x: tf.Tensor4D, spec: PoolSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const oh = overhang(h, spec.kernel[0], spec.stride[0], spec.pad[0], spec.ceil);
    const ow = overhang(w, spec.kernel[1], spec.stride[1], spec.pad[1], spec.ceil);
    let y = x;
    const pads: [number, number][] = [
      [0, 0],
      [spec.pad[0], spec.pad[0] + oh.extra],
      [spec.pad[1], spec.pad[1] + ow.extra],
      [0, 0],
    ];
    if (pads[1][0] || pads[1][1] || pads[2][0] || pads[2][1]) y = tf.pad(y, pads, -Infinity);
    return cropTo(tf.maxPool(y, spec.kernel, spec.stride, 'valid'), oh.out, ow.out);
  });
}

/**
 * PyTorch avg_pool2d. count_include_pad divides by the window's overlap with the zero-padded
 * input (not the ceil_mode overhang); otherwise by its overlap with the real input.
 */
export function avgPool2d(x: tf.Tensor4D, spec: PoolSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const [kh, kw] = spec.kernel;
    const oh = overhang(h, kh, spec.stride[0], spec.pad[0], spec.ceil);
    const ow = overhang(w, kw, spec.stride[1], spec.pad[1], spec.ceil);
    const padded = tf.pad(x, [
      [0, 0],
      [spec.pad[0], spec.pad[0] + oh.extra],
      [spec.pad[1], spec.pad[1] + ow.extra],
      [0, 0],
    ]);
    const mean = cropTo(tf.avgPool(padded, spec.kernel, spec.stride, 'valid'), oh.out, ow.out);
    const plainDivisor = (spec.countIncludePad || (spec.pad[0] === 0 && spec.pad[1] === 0)) && oh.extra === 0 && ow.extra === 0;
    if (plainDivisor) return mean;
    const dh = divisors(h, kh, spec.stride[0], spec.pad[0], oh.out, spec.countIncludePad);
    const dw = divisors(w, kw, spec.stride[1], spec.pad[1], ow.out, spec.countIncludePad);
    // mean * (k*k) / divisor, with the divisor an outer product of the per-axis counts
    const scale = tf.tensor4d(
      dh.flatMap((a) => dw.map((b) => (kh * kw) / (a * b))),
      [1, oh.out, ow.out, 1],
    );
    return tf.mul(mean, scale);
  });
}

/** Per-axis count of window elements PyTorch divides by. */
function divisors(size: number, k: number, s: number, p: number, out: number, includePad: boolean): number[] {
  const d: number[] = [];
  for (let i = 0; i < out; i++) {
    const start = i * s - p;
    const end = Math.min(start + k, size + p);
    d.push(includePad ? end - start : Math.min(end, size) - Math.max(start, 0));
  }
  return d;
}

function cropTo(y: tf.Tensor4D, oh: number, ow: number): tf.Tensor4D {
  const [n, h, w, c] = y.shape;
  return h === oh && w === ow ? y : tf.slice(y, [0, 0, 0, 0], [n, oh, ow, c]);
}

/** PyTorch adaptive_avg_pool2d: bin i spans [floor(i*H/O), ceil((i+1)*H/O)). */
export function adaptiveAvgPool2d(x: tf.Tensor4D, out: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const [oh, ow] = out;
    if (oh === 1 && ow === 1) return tf.mean(x, [1, 2], true) as tf.Tensor4D;
    if (h % oh === 0 && w % ow === 0) return tf.avgPool(x, [h / oh, w / ow], [h / oh, w / ow], 'valid');
    const rows: tf.Tensor4D[] = [];
    for (let i = 0; i < oh; i++) {
      const h0 = Math.floor((i * h) / oh),
        h1 = Math.ceil(((i + 1) * h) / oh);
      const cols: tf.Tensor4D[] = [];
      for (let j = 0; j < ow; j++) {
        const w0 = Math.floor((j * w) / ow),
          w1 = Math.ceil(((j + 1) * w) / ow);
        cols.push(tf.mean(tf.slice(x, [0, h0, w0, 0], [n, h1 - h0, w1 - w0, c]), [1, 2], true) as tf.Tensor4D);
      }
      rows.push(tf.concat(cols, 2));
    }
    return tf.concat(rows, 1);
  });
}
