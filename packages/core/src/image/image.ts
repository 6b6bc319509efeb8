/**
 * In-memory images for the PIL-exact preprocessing ops (resize, blur, crop). Pixels are HWC
 * interleaved: index of (x, y, c) = (y * width + x) * channels + c. Plain typed arrays (no tfjs) so
 * every result is exactly reproducible on every machine.
 */
import { inputError } from '../errors';

// Local copies: per-pixel global lookups are slow in sandboxed runtimes (jest's vm).
const { fround, trunc: truncate, floor } = Math;

/** 8-bit image, like a PIL 'L' (1 channel), 'RGB' (3) or 'RGBA' (4) image. */
export interface Image8 {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** 32-bit float image; one channel is a PIL 'F' image, more channels are that per channel. */
export interface ImageF {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

/** An 8-bit image with 3 channels (the type says the intent; `checkImage` enforces nothing more). */
export type RgbImage = Image8;

/** An 8-bit or a float image. */
export type AnyImage = Image8 | ImageF;

export function isImage8(img: AnyImage): img is Image8 {
  return img.data instanceof Uint8Array;
}

/** Throws an input error unless dimensions are positive integers and `data` has the right length. */
export function checkImage(img: AnyImage, name = 'image'): void {
  const { width, height, channels, data } = img;
  for (const [k, v] of [
    ['width', width],
    ['height', height],
    ['channels', channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw inputError(name, `${k} must be a positive integer, got ${v}`);
    }
  }
  if (!(data instanceof Uint8Array) && !(data instanceof Float32Array)) {
    throw inputError(name, 'data must be a Uint8Array or a Float32Array');
  }
  if (data.length !== width * height * channels) {
    throw inputError(
      name,
      `data has ${data.length} values but ${width}x${height}x${channels} needs ${width * height * channels}`,
      'pass HWC interleaved pixels (row-major, channels last)',
    );
  }
}

/** Throws an input error unless `v` is an integer >= 1 (an output width/height). */
export function checkSize(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 1) throw inputError(name, `must be a positive integer, got ${v}`);
}

/** A new image of the same kind (8-bit or float) as `like`, zero-filled. */
export function blankLike<T extends AnyImage>(like: T, width: number, height: number): T {
  const n = width * height * like.channels;
  const data = isImage8(like) ? new Uint8Array(n) : new Float32Array(n);
  return { width, height, channels: like.channels, data } as T;
}

/** A copy whose data does not alias the input's. */
export function cloneImage<T extends AnyImage>(img: T): T {
  return { width: img.width, height: img.height, channels: img.channels, data: img.data.slice() } as T;
}

/**
 * 8-bit values to floats in [0, 1], HWC. Each value is the float32 nearest to v / 255, which is
 * what torchvision's `ToTensor` gives (it divides in float32), only in HWC rather than CHW order.
 */
export function toFloat01(img: Image8): Float32Array {
  checkImage(img);
  const src = img.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] / 255;
  return out;
}

/** Same as `toFloat01` but keeps the dimensions: an `ImageF`. */
export function toImageF(img: Image8): ImageF {
  return { width: img.width, height: img.height, channels: img.channels, data: toFloat01(img) };
}

/** How float values become 8-bit: rounded, or truncated (as some reference code does). */
export type FloatRounding = 'round' | 'truncate';

/**
 * Floats in [0, 1] to 8-bit: v is clamped to [0, 1], multiplied by 255 in float32 and then
 * rounded half up ('round', the default) or truncated ('truncate', what torchvision's
 * `ToPILImage` does with `mul(255).byte()` on in-range input). NaN becomes 0.
 */
export function fromFloat01(img: ImageF, rounding: FloatRounding = 'round'): Image8 {
  checkImage(img);
  const src = img.data;
  const out = new Uint8Array(src.length);
  const trunc = rounding === 'truncate';
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (!(v > 0)) continue; // <= 0 or NaN
    if (v >= 1) {
      out[i] = 255;
      continue;
    }
    const s = fround(v * 255);
    out[i] = trunc ? truncate(s) : floor(s + 0.5);
  }
  return { width: img.width, height: img.height, channels: img.channels, data: out };
}
