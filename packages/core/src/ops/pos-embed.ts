/**
 * ViT's token-row ops on NHWC data (a token row is a map of height 1): the class token in front
 * of the patches, the learned positional embedding (resized for other patch grids exactly as
 * torchvision's interpolate_embeddings does) and the row back to a patch map.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Pair } from '../graph/ir';

/** Patch map [N, h, w, C] -> token row [N, 1, 1 + h*w, C] with `token` ([1, 1, 1, C]) in front. */
export function classToken(x: tf.Tensor4D, token: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => tf.concat([tf.tile(token, [n, 1, 1, 1]), tf.reshape(x, [n, 1, h * w, c])], 2));
}

/** Token row [N, 1, 1 + h*w, C] -> patch map [N, h, w, C], class token dropped. */
export function tokensToMap(x: tf.Tensor4D, grid: Pair): tf.Tensor4D {
  const [n, , len, c] = x.shape;
  if (len !== 1 + grid[0] * grid[1]) {
    throw new Error(`internal: a row of ${len} tokens is not a class token and a ${grid[0]}x${grid[1]} patch grid`);
  }
  return tf.tidy(() => tf.reshape(tf.slice(x, [0, 0, 1, 0], [n, 1, len - 1, c]), [n, grid[0], grid[1], c]));
}

const A = -0.75; // PyTorch's bicubic coefficient
const cubic1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
const cubic2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;

/**
 * One axis of PyTorch's bicubic upsample with align_corners=True as a dense [out, in] matrix:
 * source = i * (in - 1) / (out - 1), taps at floor(source) - 1 .. + 2 clamped to the edges.
 */
function bicubicMatrix(inSize: number, outSize: number): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  for (let o = 0; o < outSize; o++) {
    const real = scale * o;
    const i0 = Math.floor(real);
    const t = real - i0;
    const coef = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)];
    for (let k = 0; k < 4; k++) {
      const src = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
      m[o * inSize + src] += coef[k];
    }
  }
  return m;
}

/**
 * torchvision's interpolate_embeddings for a [1 + gh*gw, C] embedding (class token first): the
 * patch part, as a C x gh x gw image, resized bicubically (align_corners=True) to `to`, in
 * float64; the class token's row kept. Returns [1 + th*tw, C].
 */
export function resizePosEmbedding(pe: Float32Array, channels: number, from: Pair, to: Pair): Float32Array {
  const [gh, gw] = from;
  const [th, tw] = to;
  const c = channels;
  const my = bicubicMatrix(gh, th);
  const mx = bicubicMatrix(gw, tw);
  const out = new Float32Array((1 + th * tw) * c);
  out.set(pe.subarray(0, c));
  // rows first: tmp[oy, x, ch] = sum_y my[oy, y] * pe[1 + y*gw + x, ch]
  const tmp = new Float64Array(th * gw * c);
  for (let oy = 0; oy < th; oy++) {
    for (let y = 0; y < gh; y++) {
      const wgt = my[oy * gh + y];
      if (wgt === 0) continue;
      for (let x = 0; x < gw; x++) {
        const src = (1 + y * gw + x) * c;
        const dst = (oy * gw + x) * c;
        for (let ch = 0; ch < c; ch++) tmp[dst + ch] += wgt * pe[src + ch];
      }
    }
  }
  const acc = new Float64Array(c);
  for (let oy = 0; oy < th; oy++) {
    for (let ox = 0; ox < tw; ox++) {
      acc.fill(0);
      for (let x = 0; x < gw; x++) {
        const wgt = mx[ox * gw + x];
        if (wgt === 0) continue;
        const src = (oy * gw + x) * c;
        for (let ch = 0; ch < c; ch++) acc[ch] += wgt * tmp[src + ch];
      }
      out.set(acc, (1 + oy * tw + ox) * c);
    }
  }
  return out;
}

/**
 * A positional embedding bound to its trained grid; the resized constant for another grid is
 * computed once and kept (tf.keep: a caller's tidy must not dispose the cache) until dispose().
 */
export class PosEmbedLayer {
  private readonly cache = new Map<string, tf.Tensor4D>();
  /** Grids kept at once (each a [1 + gh*gw, C] constant). */
  static readonly MAX_GRIDS = 8;

  constructor(
    private readonly pe: Float32Array,
    readonly channels: number,
    readonly grid: Pair,
  ) {}

  /** The embedding for a gh x gw patch grid as [1, 1, 1 + gh*gw, C]. */
  forGrid(grid: Pair): tf.Tensor4D {
    const key = grid.join('x');
    let t = this.cache.get(key);
    if (!t) {
      const same = grid[0] === this.grid[0] && grid[1] === this.grid[1];
      const data = same ? this.pe : resizePosEmbedding(this.pe, this.channels, this.grid, grid);
      t = tf.keep(tf.tensor4d(data, [1, 1, 1 + grid[0] * grid[1], this.channels]));
      // bounded: a run over many input sizes keeps the most recent grids only
      if (this.cache.size >= PosEmbedLayer.MAX_GRIDS) {
        const [oldest, old] = this.cache.entries().next().value as [string, tf.Tensor4D];
        old.dispose();
        this.cache.delete(oldest);
      }
      this.cache.set(key, t);
    }
    return t;
  }

  /** tokens [N, 1, 1 + gh*gw, C] + the embedding for `grid`. */
  apply(tokens: tf.Tensor4D, grid: Pair): tf.Tensor4D {
    if (tokens.shape[2] !== 1 + grid[0] * grid[1]) {
      throw new Error(`internal: a row of ${tokens.shape[2]} tokens does not match a ${grid[0]}x${grid[1]} patch grid`);
    }
    return tf.add(tokens, this.forGrid(grid));
  }

  dispose(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }
}
