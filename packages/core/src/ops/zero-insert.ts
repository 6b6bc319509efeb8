/**
 * Spatial re-sampling helpers built only from reshape / pad / slice (kernels every backend has),
 * used by the convolution ops and their gradients. Slices stay at rank <= 4: wasm copies those
 * row by row, while higher ranks go through a slow generic per-element loop.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Inserts s-1 zeros after every element along H and W ("dilates" the image):
 * [N, H, W, C] -> [N, H*sh, W*sw, C], element (i, j) moving to (i*sh, j*sw).
 * The result keeps the s-1 trailing zeros after the last row/column (callers fold them into
 * their padding); use `zeroInsert` for the exact (H-1)*s+1 size.
 * Works by giving every row a zero-padded extra axis of length s and flattening it back.
 */
export function zeroInsertFull(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    let t: tf.Tensor4D = x;
    if (sh > 1) {
      const t4 = tf.pad(tf.reshape(t, [n, h, 1, w * c]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
      ]);
      t = tf.reshape(t4, [n, h * sh, w, c]);
    }
    if (sw > 1) {
      const hh = t.shape[1];
      const t4 = tf.pad(tf.reshape(t, [n * hh, w, 1, c]), [
        [0, 0],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      t = tf.reshape(t4, [n, hh, w * sw, c]);
    }
    return t;
  });
}

/** Zero insertion with the exact PyTorch size: [N, (H-1)*sh+1, (W-1)*sw+1, C]. */
export function zeroInsert(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  return tf.tidy(() => padOrCrop(zeroInsertFull(x, sh, sw), 0, 1 - sh, 0, 1 - sw));
}

/**
 * Zero-pads H and W by top, bottom, left, right; negative amounts crop that many rows/cols.
 */
export function padOrCrop(x: tf.Tensor4D, t: number, b: number, l: number, r: number): tf.Tensor4D {
  if (t === 0 && b === 0 && l === 0 && r === 0) return x;
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    if (t < 0 || b < 0 || l < 0 || r < 0) {
      const [n, h, w, c] = x.shape;
      const ct = Math.max(0, -t);
      const cl = Math.max(0, -l);
      y = tf.slice(y, [0, ct, cl, 0], [n, h - ct - Math.max(0, -b), w - cl - Math.max(0, -r), c]);
    }
    if (t > 0 || b > 0 || l > 0 || r > 0) {
      y = tf.pad(y, [
        [0, 0],
        [Math.max(0, t), Math.max(0, b)],
        [Math.max(0, l), Math.max(0, r)],
        [0, 0],
      ]);
    }
    return y;
  });
}

/**
 * Keeps every s-th row/column starting at 0 and returns exactly [N, outH, outW, C]
 * (zero rows are appended first when the input is too short). Reshape + slice, so no
 * stridedSlice is needed.
 */
export function subsample(x: tf.Tensor4D, sh: number, sw: number, outH: number, outW: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    let y = padOrCrop(x, 0, outH * sh - h, 0, outW * sw - w);
    if (sh > 1) {
      const row = outW * sw * c;
      y = tf.reshape(tf.slice(tf.reshape(y, [n, outH, sh, row]), [0, 0, 0, 0], [n, outH, 1, row]), [n, outH, outW * sw, c]);
    }
    if (sw > 1) {
      y = tf.reshape(tf.slice(tf.reshape(y, [n * outH, outW, sw, c]), [0, 0, 0, 0], [n * outH, outW, 1, c]), [n, outH, outW, c]);
    }
    return y;
  });
}
