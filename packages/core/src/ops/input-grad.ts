/**
 * The transposed convolution at the heart of every input gradient (and of convTranspose2d):
 * per spatial axis, with forward stride s, padding p, dilation d and kernel w of k taps,
 *   dx[u] = sum over (i, a) with i*s + a*d = u + p of dy[i] (*) w[a],   u in [0, H).
 * Stride 1: a stride-1 conv of dy with the rotated kernel. Stride > 1 with dilation 1: split by
 * the output phase r = (u + p) mod s; phase r only meets the taps a = m*s + r, so it is a
 * stride-1 conv of dy (not zero-inserted) with the sub-kernel w[r::s], and the s_h*s_w phase
 * images are interleaved (stack + reshape). This does no multiplications by inserted zeros:
 * s^2 times less work than convolving the zero-inserted dy (4x for stride 2), which remains
 * the method for stride > 1 together with dilation > 1, and for depthwise convs (see below).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Conv2DSpec, Pads4 } from './conv-spec';
import { padOrCrop, zeroInsertFull } from './zero-insert';

/**
 * A stride-1, dilation-`spec.dilation` "full" correlation of `inp` with the 180-degree rotation
 * of `w` (w given in forward orientation, spatial axes first; the callback does the rotation
 * and any channel bookkeeping of its conv kind), with per-side padding `pads`.
 */
export type RotatedConv = (inp: tf.Tensor4D, w: tf.Tensor4D, pads: Pads4) => tf.Tensor4D;

/** Taps of sub-kernel r along an axis of k taps at stride s: ceil((k - r) / s) (0 when r >= k). */
const subTaps = (k: number, s: number, r: number) => (r >= k ? 0 : Math.ceil((k - r) / s));

/** w zero-padded to multiples of the stride on both spatial axes (once per gradient, not per phase). */
function padKernel(w: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const [eh, ew] = [Math.ceil(kh / sh) * sh - kh, Math.ceil(kw / sw) * sw - kw];
  return eh === 0 && ew === 0
    ? w
    : tf.pad(w, [
        [0, eh],
        [0, ew],
        [0, 0],
        [0, 0],
      ]);
}

/**
 * Rows rh::sh (th of them) of the padded kernel `wp`, as [th, mw, sw, a*b], and from those the
 * sub-kernel w[rh::sh, rw::sw] (tw taps), built with reshape / slice (slices of rank <= 4: wasm
 * copies those row by row, higher ranks go through a slow generic loop).
 */
function kernelRows(wp: tf.Tensor4D, sh: number, sw: number, rh: number, th: number): tf.Tensor4D {
  const [hp, wpw, a, b] = wp.shape;
  const rest = wpw * a * b;
  const rows = tf.slice(tf.reshape(wp, [hp / sh, sh, rest]), [0, rh, 0], [th, 1, rest]);
  return tf.reshape(rows, [th, wpw / sw, sw, a * b]) as tf.Tensor4D;
}
function subKernel(rows: tf.Tensor4D, rw: number, tw: number, a: number, b: number): tf.Tensor4D {
  const th = rows.shape[0];
  return tf.reshape(tf.slice(rows, [0, 0, rw, 0], [th, tw, 1, a * b]), [th, tw, a, b]) as tf.Tensor4D;
}

/**
 * dx of a conv with forward spec `spec` and kernel `w` (spatial axes first), for an input of
 * spatial size outH x outW with `outChannels` channels; `conv` runs the rotated stride-1 conv.
 * `byPhases = false` forces zero insertion: right for depthwise convs, whose XNNPACK fast paths
 * cover square kernels (3x3, 5x5) but not the 2x1 / 1x2 / 2x2 sub-kernels (measured on wasm,
 * [8,56,56,144] 3x3 stride 2: 196 ms by phases, 35 ms by zero insertion; dense convs are
 * GEMM-bound and gain from the phases: 37 vs 139 ms for [4,72,72,64] 3x3x64x64 stride 2).
 */
export function transposedConv(
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  outH: number,
  outW: number,
  outChannels: number,
  spec: Conv2DSpec,
  conv: RotatedConv,
  byPhases = true,
): tf.Tensor4D {
  return tf.tidy(() => {
    const {
      stride: [sh, sw],
      pad: [ph, pw],
      dilation: [dh, dw],
    } = spec;
    const [kh, kw] = w.shape;
    const [n, oh, ow] = dy.shape;
    if (sh === 1 && sw === 1) {
      return conv(dy, w, [dh * (kh - 1) - ph, outH + ph - oh, dw * (kw - 1) - pw, outW + pw - ow]);
    }
    if (dh > 1 || dw > 1 || !byPhases) {
      // zeroInsertFull leaves s-1 zero rows after the last row of dy: fold them into the padding
      const pads: Pads4 = [dh * (kh - 1) - ph, outH + ph - oh * sh, dw * (kw - 1) - pw, outW + pw - ow * sw];
      return conv(zeroInsertFull(dy, sh, sw), w, pads);
    }
    const qh = Math.ceil((ph + outH) / sh),
      qw = Math.ceil((pw + outW) / sw);
    // phase (rh, rw) gives pixel (q*sh + rh, q'*sw + rw) of the padded dx, q < qh, q' < qw;
    // interleaved by stack + reshape (on wasm a stack copies rows and a 6-D transpose is slow)
    // each phase in its own tidy: with many phases (a 32x32 patch conv has 1024) the sub-kernels
    // and the conv callback's temporaries would otherwise all live until the end (wasm ran out of memory)
    const wp = padKernel(w, sh, sw);
    const [a, b] = [w.shape[2], w.shape[3]];
    const rows: tf.Tensor4D[] = [];
    for (let rh = 0; rh < sh; rh++) {
      const cols: tf.Tensor4D[] = [];
      const th = subTaps(kh, sh, rh);
      const kRows = th === 0 ? null : kernelRows(wp, sh, sw, rh, th);
      for (let rw = 0; rw < sw; rw++) {
        const tw = subTaps(kw, sw, rw);
        cols.push(
          kRows === null || tw === 0
            ? tf.zeros([n, qh, qw, outChannels])
            : tf.tidy(() => conv(dy, subKernel(kRows, rw, tw, a, b), [th - 1, qh - oh, tw - 1, qw - ow])),
        );
      }
      rows.push(sw === 1 ? cols[0] : (tf.reshape(tf.stack(cols, 3), [n, qh, qw * sw, outChannels]) as tf.Tensor4D));
    }
    const full = sh === 1 ? rows[0] : (tf.reshape(tf.stack(rows, 2), [n, qh * sh, qw * sw, outChannels]) as tf.Tensor4D);
    return padOrCrop(full, -ph, outH + ph - qh * sh, -pw, outW + pw - qw * sw);
  });
}
