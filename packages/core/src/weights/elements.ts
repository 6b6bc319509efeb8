/**
 * Raw element bytes -> Float32Array, for every element type the weight readers meet, and the
 * strided gather that turns a (possibly non-contiguous) view of a storage into C order.
 */
import type { TorchDType } from './state-dict';

/** Element encodings: f = IEEE float, bf16 = bfloat16, i = signed, u = unsigned, b1 = bool. */
export type ElementKind = 'f8' | 'f4' | 'f2' | 'bf16' | 'i8' | 'i4' | 'i2' | 'i1' | 'u8' | 'u4' | 'u2' | 'u1' | 'b1';

export const ELEMENT_SIZE: Readonly<Record<ElementKind, number>> = {
  f8: 8,
  f4: 4,
  f2: 2,
  bf16: 2,
  i8: 8,
  i4: 4,
  i2: 2,
  i1: 1,
  u8: 8,
  u4: 4,
  u2: 2,
  u1: 1,
  b1: 1,
};

export const TORCH_KIND: Readonly<Record<TorchDType, ElementKind>> = {
  float64: 'f8',
  float32: 'f4',
  float16: 'f2',
  bfloat16: 'bf16',
  int64: 'i8',
  int32: 'i4',
  int16: 'i2',
  int8: 'i1',
  uint8: 'u1',
  bool: 'b1',
};

export const torchElementSize = (dtype: TorchDType) => ELEMENT_SIZE[TORCH_KIND[dtype]];

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let halfTable: Float32Array | undefined;
/** All 65536 float16 bit patterns decoded once (256 KiB); decoding is then one lookup. */
function half(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0) t[h] = sign * man * 2 ** -24;
    else if (exp === 31) t[h] = man ? NaN : sign * Infinity;
    else t[h] = sign * (1 + man / 1024) * 2 ** (exp - 15);
  }
  return (halfTable = t);
}

/**
 * Decodes `bytes` (a whole number of elements) to float32. With `mayAlias`, float32 data that
 * is already aligned and in host byte order is returned as a view on the same memory (no copy).
 */
export function decodeElements(bytes: Uint8Array, kind: ElementKind, littleEndian: boolean, mayAlias = false): Float32Array {
  const size = ELEMENT_SIZE[kind];
  const n = Math.floor(bytes.byteLength / size);
  let src = bytes;
  let aliasable = mayAlias;
  if (size > 1 && (littleEndian !== HOST_LE || bytes.byteOffset % size !== 0)) {
    // Typed arrays need aligned, host-order data: one copy (and byte swap) fixes both.
    src = bytes.slice(0, n * size);
    aliasable = true;
    if (littleEndian !== HOST_LE) {
      for (let i = 0; i < src.length; i += size) src.subarray(i, i + size).reverse();
    }
  }
  const buf = src.buffer;
  const off = src.byteOffset;
  switch (kind) {
    case 'f4':
      return aliasable ? new Float32Array(buf, off, n) : new Float32Array(buf.slice(off, off + 4 * n));
    case 'f8':
      return Float32Array.from(new Float64Array(buf, off, n));
    case 'f2': {
      const t = half();
      const h = new Uint16Array(buf, off, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = t[h[i]];
      return out;
    }
    case 'bf16': {
      // bfloat16 is the top half of a float32.
      const h = new Uint16Array(buf, off, n);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
      return out;
    }
    case 'i8':
    case 'u8': {
      const w = new Uint32Array(buf, off, 2 * n);
      const out = new Float32Array(n);
      const [lo, hi] = HOST_LE ? [0, 1] : [1, 0];
      for (let i = 0; i < n; i++) {
        const h = w[2 * i + hi];
        // Signed high word for int64; exact below 2^53, then rounded to float32 like torch's .float().
        out[i] = (kind === 'i8' ? h | 0 : h) * 4294967296 + w[2 * i + lo];
      }
      return out;
    }
    case 'i4':
      return Float32Array.from(new Int32Array(buf, off, n));
    case 'u4':
      return Float32Array.from(new Uint32Array(buf, off, n));
    case 'i2':
      return Float32Array.from(new Int16Array(buf, off, n));
    case 'u2':
      return Float32Array.from(new Uint16Array(buf, off, n));
    case 'i1':
      return Float32Array.from(new Int8Array(buf, off, n));
    case 'u1':
      return Float32Array.from(new Uint8Array(buf, off, n));
    case 'b1': {
      const b = new Uint8Array(buf, off, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = b[i] ? 1 : 0;
      return out;
    }
  }
}

/** True when `stride` walks `shape` in C order without gaps (size-1 dims may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Largest element index a view touches (offset included); -1 for an empty view. */
export function viewExtent(offset: number, shape: readonly number[], stride: readonly number[]): number {
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return -1;
    last += (shape[d] - 1) * stride[d];
  }
  return last;
}

/** Copies a strided view of `src` into a new C-ordered array. */
export function gatherStrided(src: Float32Array, offset: number, shape: readonly number[], stride: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (n === 0) return out;
  const rank = shape.length;
  if (rank === 0) {
    out[0] = src[offset];
    return out;
  }
  const inner = shape[rank - 1];
  const innerStride = stride[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let base = offset;
  for (let o = 0; o < n; o += inner) {
    if (innerStride === 1) out.set(src.subarray(base, base + inner), o);
    else for (let i = 0; i < inner; i++) out[o + i] = src[base + i * innerStride];
    // Odometer over the outer dimensions.
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      base += stride[d];
      if (idx[d] < shape[d]) break;
      base -= idx[d] * stride[d];
      idx[d] = 0;
    }
  }
  return out;
}
