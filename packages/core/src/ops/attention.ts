/**
 * Multi-head self-attention on NHWC maps and token rows (maps of height 1), written from matrix
 * multiplies and softmax so that it has gradients on every tfjs backend (wasm included) and a
 * plain ONNX form. Global attention is ViT's nn.MultiheadAttention (eval mode); windowed
 * attention is torchvision 0.14's shifted_window_attention (Swin), step for step: zero-pad to
 * window multiples, drop the shift on an axis whose padded size is <= the window, roll, partition,
 * attend with the relative position bias and the shifted-window mask, merge, roll back, crop.
 * Every tensor stays at rank <= 4 (the wasm backend's broadcasting and transposes are safest there).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionOp, Pair } from '../graph/ir';
import type { StateDict, TensorRecord } from '../weights/state-dict';

/** An attention node's frozen weights in tfjs form (projections as [in, out]). */
export interface AttentionLayer {
  heads: number;
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wv: tf.Tensor2D;
  bq: tf.Tensor1D;
  bk: tf.Tensor1D;
  bv: tf.Tensor1D;
  wo: tf.Tensor2D;
  bo: tf.Tensor1D;
  /** Relative position bias per head, gathered from the table: [heads, T*T] for a window of T positions. */
  relBias: tf.Tensor2D | null;
  window?: Pair;
  shift?: Pair;
}

/** The state_dict keys of an attention op's projections (nn.MultiheadAttention or Swin's qkv/proj). */
export function attentionKeys(op: AttentionOp): { inW: string; inB: string; outW: string; outB: string } {
  return op.params === 'mha'
    ? { inW: `${op.key}.in_proj_weight`, inB: `${op.key}.in_proj_bias`, outW: `${op.key}.out_proj.weight`, outB: `${op.key}.out_proj.bias` }
    : { inW: `${op.key}.qkv.weight`, inB: `${op.key}.qkv.bias`, outW: `${op.key}.proj.weight`, outB: `${op.key}.proj.bias` };
}

/**
 * torchvision's relative_position_index for a wh x ww window: entry (a, b) of the [T, T] matrix
 * (T = wh*ww, positions row-major) is the table row of the offset between positions a and b,
 * (ya - yb + wh - 1) * (2ww - 1) + (xa - xb + ww - 1). Computed here, so the buffer in
 * torchvision's state_dict is not read (checkStateDict accepts it when present).
 */
export function relativePositionIndex(window: Pair): Int32Array {
  const [wh, ww] = window;
  const t = wh * ww;
  const idx = new Int32Array(t * t);
  for (let a = 0; a < t; a++) {
    for (let b = 0; b < t; b++) {
      const dy = Math.floor(a / ww) - Math.floor(b / ww) + wh - 1;
      const dx = (a % ww) - (b % ww) + ww - 1;
      idx[a * t + b] = dy * (2 * ww - 1) + dx;
    }
  }
  return idx;
}

/** The [heads, T*T] bias (head-major) that torchvision's _get_relative_position_bias adds to the logits. */
export function relativePositionBias(table: Float32Array, heads: number, window: Pair): Float32Array {
  const idx = relativePositionIndex(window);
  const tt = idx.length;
  const out = new Float32Array(heads * tt);
  for (let h = 0; h < heads; h++) for (let i = 0; i < tt; i++) out[h * tt + i] = table[idx[i] * heads + h];
  return out;
}

/** The shift actually applied: torchvision drops it on an axis whose padded size is <= the window. */
export function effectiveShift(padded: Pair, window: Pair, shift: Pair | undefined): Pair {
  if (!shift) return [0, 0];
  return [window[0] >= padded[0] ? 0 : shift[0], window[1] >= padded[1] ? 0 : shift[1]];
}

/** Labels torchvision's mask loop writes: Python slices (0, -w), (-w, -s), (-s, None), later ones overwriting. */
function regionLabels(size: number, w: number, s: number): Int32Array {
  const labels = new Int32Array(size);
  const at = (i: number | null, dflt: number) => (i === null ? dflt : i < 0 ? Math.max(0, size + i) : Math.min(i, size));
  // -0 is 0 in Python: a zero shift makes the middle slice empty and the last one the whole axis
  const slices: [number, number | null][] = [
    [0, -w],
    [-w, s === 0 ? 0 : -s],
    [s === 0 ? 0 : -s, null],
  ];
  slices.forEach(([a, b], r) => {
    for (let i = at(a, 0); i < at(b, size); i++) labels[i] = r;
  });
  return labels;
}

const maskCache = new Map<string, Float32Array>();

/**
 * torchvision's shifted-window mask as [windows, T*T]: -100 where query a and key b of a window
 * came from different regions of the rolled map, else 0. A pure function of the sizes (cached).
 */
export function shiftedWindowMask(padded: Pair, window: Pair, shift: Pair): Float32Array {
  const key = `${padded.join('x')}/${window.join('x')}/${shift.join('x')}`;
  const hit = maskCache.get(key);
  if (hit) return hit;
  const [hp, wp] = padded;
  const [wh, ww] = window;
  const rows = regionLabels(hp, wh, shift[0]);
  const cols = regionLabels(wp, ww, shift[1]);
  const nh = hp / wh;
  const nw = wp / ww;
  const t = wh * ww;
  const mask = new Float32Array(nh * nw * t * t);
  const label = new Int32Array(t);
  for (let bh = 0; bh < nh; bh++) {
    for (let bw = 0; bw < nw; bw++) {
      for (let i = 0; i < t; i++) label[i] = rows[bh * wh + Math.floor(i / ww)] * 3 + cols[bw * ww + (i % ww)];
      const base = (bh * nw + bw) * t * t;
      for (let a = 0; a < t; a++) for (let b = 0; b < t; b++) mask[base + a * t + b] = label[a] === label[b] ? 0 : -100;
    }
  }
  if (maskCache.size > 64) maskCache.clear();
  maskCache.set(key, mask);
  return mask;
}

const rec = (sd: StateDict, key: string): TensorRecord => {
  const r = sd.get(key);
  if (!r) throw new Error(`internal: ${key} missing after validation`);
  return r;
};

/** Builds an attention node's layer: splits the packed [3C, C] in-projection into q, k, v. */
export function attentionLayer(op: AttentionOp, sd: StateDict): AttentionLayer {
  const c = op.channels;
  const k = attentionKeys(op);
  const inW = rec(sd, k.inW).data;
  const inB = rec(sd, k.inB).data;
  const part = (i: number) => tf.tidy(() => tf.transpose(tf.tensor2d(inW.subarray(i * c * c, (i + 1) * c * c), [c, c])) as tf.Tensor2D);
  const bias = (i: number) => tf.tensor1d(inB.slice(i * c, (i + 1) * c));
  let relBias: tf.Tensor2D | null = null;
  if (op.relativePositionBias && op.window) {
    const table = rec(sd, `${op.key}.relative_position_bias_table`).data;
    const t = op.window[0] * op.window[1];
    relBias = tf.tensor2d(relativePositionBias(table, op.heads, op.window), [op.heads, t * t]);
  }
  return {
    heads: op.heads,
    wq: part(0),
    wk: part(1),
    wv: part(2),
    bq: bias(0),
    bk: bias(1),
    bv: bias(2),
    wo: tf.tidy(() => tf.transpose(tf.tensor2d(rec(sd, k.outW).data, [c, c])) as tf.Tensor2D),
    bo: tf.tensor1d(rec(sd, k.outB).data),
    relBias,
    window: op.window,
    shift: op.shift,
  };
}

export function disposeAttentionLayer(l: AttentionLayer): void {
  tf.dispose([l.wq, l.wk, l.wv, l.bq, l.bk, l.bv, l.wo, l.bo, ...(l.relBias ? [l.relBias] : [])]);
}

/**
 * Attention within groups of T positions: x [B, T, C] -> [B, T, C]. `addToLogits` receives the
 * scaled logits as [B, heads, T, T] and returns them with biases and masks added.
 */
function attend(x: tf.Tensor3D, l: AttentionLayer, addToLogits?: (logits: tf.Tensor4D) => tf.Tensor4D): tf.Tensor3D {
  const [b, t, c] = x.shape;
  const h = l.heads;
  const d = c / h;
  const x2 = tf.reshape(x, [b * t, c]);
  // [B*T, C] -> [B*heads, T, d]
  const heads = (w: tf.Tensor2D, bias: tf.Tensor1D) =>
    tf.reshape(tf.transpose(tf.reshape(tf.add(tf.matMul(x2, w), bias), [b, t, h, d]), [0, 2, 1, 3]), [b * h, t, d]);
  // q scaled after its bias, as both PyTorch implementations do
  const q = tf.mul(heads(l.wq, l.bq), d ** -0.5);
  const k = heads(l.wk, l.bk);
  const v = heads(l.wv, l.bv);
  let logits = tf.matMul(q, k, false, true) as tf.Tensor3D;
  if (addToLogits) logits = tf.reshape(addToLogits(tf.reshape(logits, [b, h, t, t])), [b * h, t, t]);
  const y = tf.matMul(tf.softmax(logits), v); // [B*heads, T, d]
  const merged = tf.reshape(tf.transpose(tf.reshape(y, [b, h, t, d]), [0, 2, 1, 3]), [b * t, c]);
  return tf.reshape(tf.add(tf.matMul(merged, l.wo), l.bo), [b, t, c]);
}

/** torch.roll of a map by `s` along `axis` (1 or 2): element i moves to i + s (mod size). */
function roll(x: tf.Tensor4D, s: number, axis: 1 | 2): tf.Tensor4D {
  const size = x.shape[axis];
  const k = ((s % size) + size) % size;
  if (k === 0) return x;
  const cut = size - k;
  const begin = (at: number): number[] => (axis === 1 ? [0, at, 0, 0] : [0, 0, at, 0]);
  const len = (n: number): number[] => (axis === 1 ? [-1, n, -1, -1] : [-1, -1, n, -1]);
  return tf.concat([tf.slice(x, begin(cut), len(k)), tf.slice(x, begin(0), len(cut))], axis);
}

/** Global attention over all H*W positions of each map (ViT's token rows have H = 1). */
function globalAttention(x: tf.Tensor4D, l: AttentionLayer): tf.Tensor4D {
  const [n, hh, ww, c] = x.shape;
  return tf.reshape(attend(tf.reshape(x, [n, hh * ww, c]), l), [n, hh, ww, c]);
}

/** torchvision's shifted_window_attention on x [N, H, W, C]. */
function windowAttention(x: tf.Tensor4D, l: AttentionLayer, window: Pair, shiftSpec: Pair | undefined): tf.Tensor4D {
  const [n, hh, ww, c] = x.shape;
  const [wh, wwin] = window;
  const padB = (wh - (hh % wh)) % wh;
  const padR = (wwin - (ww % wwin)) % wwin;
  const hp = hh + padB;
  const wp = ww + padR;
  const shift = effectiveShift([hp, wp], window, shiftSpec);
  let y: tf.Tensor4D =
    padB || padR
      ? tf.pad(x, [
          [0, 0],
          [0, padB],
          [0, padR],
          [0, 0],
        ])
      : x;
  y = roll(roll(y, -shift[0], 1), -shift[1], 2);
  const nh = hp / wh;
  const nw = wp / wwin;
  const t = wh * wwin;
  // partition: [N, nh, wh, nw, ww, C] -> [N*nh*nw, wh*ww, C], kept at rank 4 by merging axes
  const windows: tf.Tensor3D = tf.reshape(tf.transpose(tf.reshape(y, [n * nh, wh, nw, wwin * c]), [0, 2, 1, 3]), [n * nh * nw, t, c]);
  const shifted = shift[0] > 0 || shift[1] > 0;
  const add = (logits: tf.Tensor4D): tf.Tensor4D => {
    // logits [N*nW, heads, T, T] viewed as [N, nW, heads, T*T]: bias per head, then mask per window
    let z: tf.Tensor = tf.reshape(logits, [n, nh * nw, l.heads, t * t]);
    if (l.relBias) z = tf.add(z, l.relBias);
    if (shifted) z = tf.add(z, tf.tensor3d(shiftedWindowMask([hp, wp], window, shift), [nh * nw, 1, t * t]));
    return tf.reshape(z, [n * nh * nw, l.heads, t, t]) as tf.Tensor4D;
  };
  const out = attend(windows, l, l.relBias || shifted ? add : undefined);
  // merge windows back: [N*nh, nw, wh, ww*C] -> [N*nh, wh, nw, ww*C] -> [N, Hp, Wp, C]
  let m: tf.Tensor4D = tf.reshape(tf.transpose(tf.reshape(out, [n * nh, nw, wh, wwin * c]), [0, 2, 1, 3]), [n, hp, wp, c]);
  m = roll(roll(m, shift[0], 1), shift[1], 2);
  return padB || padR ? tf.slice(m, [0, 0, 0, 0], [n, hh, ww, c]) : m;
}

/** Multi-head self-attention on x [N, H, W, C] (see AttentionOp). */
export function attention(x: tf.Tensor4D, l: AttentionLayer): tf.Tensor4D {
  return tf.tidy(() => (l.window ? windowAttention(x, l, l.window, l.shift) : globalAttention(x, l)));
}
