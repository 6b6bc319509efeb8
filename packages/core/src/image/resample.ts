/**
 * Image resizing that reproduces Pillow's `Image.resize(size, filter)` (no `box`, no
 * `reducing_gap`, which is Pillow's default) and torchvision's `Resize(size)` on PIL images.
 *
 * How Pillow computes it (and so how this file does):
 * - Separable: a horizontal pass (only when the width changes) and then a vertical pass (only when
 *   the height changes). 8-bit images are rounded back to 8 bits after the horizontal pass.
 * - Output pixel i of a pass samples the input around centre (i + 0.5) * scale, scale = in / out.
 *   When downscaling the filter is stretched by `scale` (antialiasing): support = filter support *
 *   max(scale, 1). The window [trunc(centre - support + 0.5), trunc(centre + support + 0.5)) is
 *   clipped to the image (edges: the weights of the remaining pixels are renormalised), and the
 *   weights are normalised to sum to 1.
 * - 8-bit images: each weight becomes a signed fixed-point integer with 22 fraction bits (rounded
 *   half away from zero); a pixel is sum(weight * value) + 2^21, shifted right by 22 and clamped to
 *   0..255. Float images: sums in float64, stored as float32 after each pass.
 * - NEAREST is not a convolution: output i takes input trunc(x), x starting at scale / 2 and
 *   advancing by scale per pixel (float64 accumulation, like Pillow's affine scaler).
 * Pillow resizes RGBA with premultiplied alpha; here every channel is filtered independently (as
 * Pillow does for 'RGB', 'L' and 'F').
 */
import { inputError } from '../errors';
import { AnyImage, Image8, ImageF, blankLike, checkImage, checkSize, cloneImage, isImage8 } from './image';

/** PIL's resampling filters, computed as PIL does. */
export type ResampleFilter = 'nearest' | 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/** Every ResampleFilter, for option choices and messages. */
export const RESAMPLE_FILTERS: readonly ResampleFilter[] = ['nearest', 'box', 'bilinear', 'hamming', 'bicubic', 'lanczos'];

interface Kernel {
  support: number;
  fn: (x: number) => number;
}

const sinc = (x: number): number => {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
};

// Pillow writes the Hamming constants as C float literals (0.54f, 0.46f).
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

// Pillow's kernels (bicubic uses a = -0.5, Keys' cubic convolution).
const KERNELS: Record<Exclude<ResampleFilter, 'nearest'>, Kernel> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
  hamming: {
    support: 1,
    fn: (x) => {
      if (x < 0) x = -x;
      if (x === 0) return 1;
      if (x >= 1) return 0;
      x = x * Math.PI;
      return (Math.sin(x) / x) * (HAMMING_A + HAMMING_B * Math.cos(x));
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: {
    support: 3,
    fn: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
  },
};

/** Per-output-pixel windows of one pass: pixel i reads `count[i]` inputs from `first[i]`. */
interface Coeffs {
  ksize: number;
  first: Int32Array;
  count: Int32Array;
  /** ksize weights per output pixel, normalised to sum 1 (zeros past `count`). */
  weights: Float64Array;
}

function precomputeCoeffs(inSize: number, outSize: number, kernel: Kernel): Coeffs {
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = kernel.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1 / filterScale;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    let lo = Math.trunc(center - support + 0.5);
    if (lo < 0) lo = 0;
    let hi = Math.trunc(center + support + 0.5);
    if (hi > inSize) hi = inSize;
    const n = hi - lo;
    const base = i * ksize;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const w = kernel.fn((k + lo - center + 0.5) * ss);
      weights[base + k] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < n; k++) weights[base + k] /= sum;
    first[i] = lo;
    count[i] = n;
  }
  return { ksize, first, count, weights };
}

const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Weights as fixed point with 22 fraction bits, rounded half away from zero. */
function fixedPoint(weights: Float64Array): Int32Array {
  const out = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    out[i] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
  }
  return out;
}

const clip8 = (acc: number): number => {
  const v = acc >> PRECISION_BITS; // acc stays within int32 (as in Pillow)
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/** Horizontal pass over rows [row0, row0 + rows) of `src` into `dst` (rows x outW). */
function horizontal8(src: Image8, row0: number, rows: number, outW: number, co: Coeffs, dst: Uint8Array): void {
  const C = src.channels;
  const inRow = src.width * C;
  const k = fixedPoint(co.weights);
  const acc = new Int32Array(C);
  for (let y = 0; y < rows; y++) {
    const rowOff = (y + row0) * inRow;
    for (let x = 0; x < outW; x++) {
      const kb = x * co.ksize;
      const n = co.count[x];
      let p = rowOff + co.first[x] * C;
      acc.fill(HALF);
      for (let j = 0; j < n; j++, p += C) {
        const w = k[kb + j];
        for (let c = 0; c < C; c++) acc[c] += src.data[p + c] * w;
      }
      const o = (y * outW + x) * C;
      for (let c = 0; c < C; c++) dst[o + c] = clip8(acc[c]);
    }
  }
}

/** Vertical pass: `src` rows are offset by `row0` relative to the coefficient windows. */
function vertical8(src: Uint8Array, width: number, C: number, row0: number, outH: number, co: Coeffs, dst: Uint8Array): void {
  const rowLen = width * C;
  const k = fixedPoint(co.weights);
  const acc = new Int32Array(rowLen);
  for (let y = 0; y < outH; y++) {
    const kb = y * co.ksize;
    const n = co.count[y];
    const first = co.first[y] - row0;
    acc.fill(HALF);
    for (let j = 0; j < n; j++) {
      const w = k[kb + j];
      const off = (first + j) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += src[off + i] * w;
    }
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) dst[o + i] = clip8(acc[i]);
  }
}

function horizontalF(src: ImageF, row0: number, rows: number, outW: number, co: Coeffs, dst: Float32Array): void {
  const C = src.channels;
  const inRow = src.width * C;
  const k = co.weights;
  const acc = new Float64Array(C);
  for (let y = 0; y < rows; y++) {
    const rowOff = (y + row0) * inRow;
    for (let x = 0; x < outW; x++) {
      const kb = x * co.ksize;
      const n = co.count[x];
      let p = rowOff + co.first[x] * C;
      acc.fill(0);
      for (let j = 0; j < n; j++, p += C) {
        const w = k[kb + j];
        for (let c = 0; c < C; c++) acc[c] += src.data[p + c] * w;
      }
      const o = (y * outW + x) * C;
      for (let c = 0; c < C; c++) dst[o + c] = acc[c];
    }
  }
}

function verticalF(src: Float32Array, width: number, C: number, row0: number, outH: number, co: Coeffs, dst: Float32Array): void {
  const rowLen = width * C;
  const k = co.weights;
  const acc = new Float64Array(rowLen);
  for (let y = 0; y < outH; y++) {
    const kb = y * co.ksize;
    const n = co.count[y];
    const first = co.first[y] - row0;
    acc.fill(0);
    // Row by row keeps each pixel's sum in Pillow's order (first tap to last).
    for (let j = 0; j < n; j++) {
      const w = k[kb + j];
      const off = (first + j) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += src[off + i] * w;
    }
    dst.set(acc, y * rowLen);
  }
}

/** Input index per output pixel for NEAREST, accumulated like Pillow's affine scaler. */
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const idx = new Int32Array(outSize);
  let pos = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    const v = pos < 0 ? 0 : Math.trunc(pos);
    idx[i] = v >= inSize ? inSize - 1 : v;
    pos += step;
  }
  return idx;
}

function resizeNearest<T extends AnyImage>(img: T, width: number, height: number): T {
  const out = blankLike(img, width, height);
  const C = img.channels;
  const xi = nearestIndex(img.width, width);
  const yi = nearestIndex(img.height, height);
  for (let y = 0; y < height; y++) {
    const inRow = yi[y] * img.width;
    for (let x = 0; x < width; x++) {
      const s = (inRow + xi[x]) * C;
      const d = (y * width + x) * C;
      for (let c = 0; c < C; c++) out.data[d + c] = img.data[s + c];
    }
  }
  return out;
}

/**
 * Resizes to `width` x `height` exactly as Pillow's `Image.resize((width, height), filter)`:
 * 8-bit images in Pillow's fixed point (bit-exact), float images as Pillow's 'F' mode.
 * Returns a new image (a copy when the size does not change).
 */
export function resize(img: Image8, width: number, height: number, filter: ResampleFilter): Image8;
export function resize(img: ImageF, width: number, height: number, filter: ResampleFilter): ImageF;
export function resize<T extends AnyImage>(img: T, width: number, height: number, filter: ResampleFilter): T;
export function resize(img: AnyImage, width: number, height: number, filter: ResampleFilter): AnyImage {
  checkImage(img);
  checkSize(width, 'resize width');
  checkSize(height, 'resize height');
  if (!RESAMPLE_FILTERS.includes(filter)) {
    throw inputError('resize filter', `unknown filter '${String(filter)}'`, `use one of: ${RESAMPLE_FILTERS.join(', ')}`);
  }
  if (width === img.width && height === img.height) return cloneImage(img);
  if (filter === 'nearest') return resizeNearest(img, width, height);

  const kernel = KERNELS[filter];
  const C = img.channels;
  const needH = width !== img.width;
  const needV = height !== img.height;
  const hCo = needH ? precomputeCoeffs(img.width, width, kernel) : undefined;
  const vCo = needV ? precomputeCoeffs(img.height, height, kernel) : undefined;
  // The horizontal pass only needs the rows the vertical pass will read.
  const row0 = vCo ? vCo.first[0] : 0;
  const rowEnd = vCo ? vCo.first[height - 1] + vCo.count[height - 1] : img.height;
  const rows = rowEnd - row0;

  if (isImage8(img)) {
    let src = img.data;
    let srcRow0 = 0;
    if (hCo) {
      const tmp = new Uint8Array(rows * width * C);
      horizontal8(img, row0, rows, width, hCo, tmp);
      src = tmp;
      srcRow0 = row0;
    }
    if (!vCo) return { width, height, channels: C, data: src };
    const out = new Uint8Array(width * height * C);
    vertical8(src, width, C, srcRow0, height, vCo, out);
    return { width, height, channels: C, data: out };
  }
  const imgF = img as ImageF;
  let src = imgF.data;
  let srcRow0 = 0;
  if (hCo) {
    const tmp = new Float32Array(rows * width * C);
    horizontalF(imgF, row0, rows, width, hCo, tmp);
    src = tmp;
    srcRow0 = row0;
  }
  if (!vCo) return { width, height, channels: C, data: src };
  const out = new Float32Array(width * height * C);
  verticalF(src, width, C, srcRow0, height, vCo, out);
  return { width, height, channels: C, data: out };
}

/**
 * The output size of torchvision's `Resize(size)` (an int): the shorter side becomes `size`, the
 * longer one `trunc(size * long / short)`; a square image gives size x size.
 */
export function shorterSideSize(width: number, height: number, size: number): { width: number; height: number } {
  checkSize(size, 'resize size');
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/**
 * torchvision `Resize(size, interpolation)` on a PIL image: shorter side to `size` (see
 * `shorterSideSize`), then Pillow's resize. torchvision's default interpolation is bilinear.
 */
export function resizeShorterSide(img: Image8, size: number, filter?: ResampleFilter): Image8;
export function resizeShorterSide(img: ImageF, size: number, filter?: ResampleFilter): ImageF;
export function resizeShorterSide(img: AnyImage, size: number, filter: ResampleFilter = 'bilinear'): AnyImage {
  checkImage(img);
  const { width, height } = shorterSideSize(img.width, img.height, size);
  return resize(img, width, height, filter);
}
