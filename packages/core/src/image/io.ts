import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { inputError } from '../errors';
import { assertRegularFile } from '../util/regular-file';
import { readNpyFile } from '../weights/npy';

/** An 8-bit-decoded image as float RGB in [0,1], HWC interleaved. */
export interface RgbFloatImage {
  width: number;
  height: number;
  data: Float32Array;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.gif']);

/** Env override for the pixel limit (an integer number of pixels). */
export const MAX_PIXELS_ENV = 'DPL_MAX_PIXELS';
/** About 50 megapixels: far above any study image, far below what exhausts memory (a decoded pixel is 12-16 bytes here). */
export const DEFAULT_MAX_PIXELS = 50_000_000;
let maxPixelsOverride: number | undefined;

/** Sets the pixel limit for this process (e.g. from a `--max-pixels` option); undefined restores DPL_MAX_PIXELS / the default. */
export function setMaxPixels(n: number | undefined): void {
  if (n !== undefined && (!Number.isSafeInteger(n) || n <= 0)) {
    throw inputError('max pixels', `${String(n)} is not a positive whole number`, `give a pixel count such as ${DEFAULT_MAX_PIXELS}`);
  }
  maxPixelsOverride = n;
}

/** The pixel limit in force: setMaxPixels(), else DPL_MAX_PIXELS, else DEFAULT_MAX_PIXELS. */
export function maxPixels(): number {
  if (maxPixelsOverride !== undefined) return maxPixelsOverride;
  const raw = process.env[MAX_PIXELS_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_MAX_PIXELS;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw inputError(
      `${MAX_PIXELS_ENV}=${raw}`,
      'is not a positive whole number of pixels',
      `set it to e.g. ${DEFAULT_MAX_PIXELS} (the default), or unset it`,
    );
  }
  return n;
}

/** Options of readImage: the largest image accepted. */
export interface ReadImageOptions {
  /** Largest width x height accepted (per image, or per .npy batch); defaults to maxPixels(). */
  maxPixels?: number;
}

const mpx = (n: number) => `${(n / 1e6).toFixed(1)} megapixels`;

function tooManyPixels(file: string, what: string, pixels: number, limit: number) {
  return inputError(
    file,
    `is ${what} (${mpx(pixels)}), over the ${mpx(limit)} limit; it is refused before decoding`,
    `downscale it, or if it is trusted and memory allows, raise the limit: ${MAX_PIXELS_ENV}=${pixels}`,
  );
}

/**
 * Decodes a PNG/JPEG/... file to RGB in [0,1] (alpha dropped, grayscale expanded). Only regular
 * files are read, and the size in the header is checked against the pixel limit before decoding.
 */
export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<RgbFloatImage> {
  await assertRegularFile(file, 'an image', inputError);
  const limit = opts.maxPixels ?? maxPixels();
  let meta: sharp.Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata(); // the header only
  } catch (e) {
    throw inputError(file, `is not a readable image (${(e as Error).message})`, 'use a valid PNG or JPEG file');
  }
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0; // one page / frame is decoded
  if (width * height > limit) throw tooManyPixels(file, `${width} x ${height} pixels`, width * height, limit);
  try {
    // limitInputPixels repeats the check inside the decoder, should the header have lied.
    const { data, info } = await sharp(file, { limitInputPixels: limit })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const c = info.channels;
    const out = new Float32Array(info.width * info.height * 3);
    for (let i = 0, j = 0; i < out.length; i += 3, j += c) {
      out[i] = data[j] / 255;
      out[i + 1] = data[c === 1 ? j : j + 1] / 255;
      out[i + 2] = data[c === 1 ? j : j + 2] / 255;
    }
    return { width: info.width, height: info.height, data: out };
  } catch (e) {
    throw inputError(file, `is not a readable image (${(e as Error).message})`, 'use a valid PNG or JPEG file');
  }
}

/** Encodes RGB [0,1] HWC floats as an 8-bit PNG. */
export async function writePng(file: string, img: RgbFloatImage): Promise<void> {
  const buf = Buffer.alloc(img.width * img.height * 3);
  for (let i = 0; i < buf.length; i++) buf[i] = Math.max(0, Math.min(255, Math.round(img.data[i] * 255)));
  await sharp(buf, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toFile(file);
}

/**
 * Reads a network input: an image file (-> [1,H,W,3] in [0,1]) or a float `.npy` in NCHW with
 * 3 channels (-> NHWC, values as stored, all finite). Shape, dtype and the pixel limit (N x H x W)
 * are checked from the .npy header before its data is read. Errors name the file.
 */
export async function readInputTensor(file: string, opts: ReadImageOptions = {}): Promise<tf.Tensor4D> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') {
    const limit = opts.maxPixels ?? maxPixels();
    const arr = await readNpyFile(file, (h) => {
      if (h.kind[0] !== 'f') {
        throw inputError(file, `has dtype ${h.dtype}`, 'save the input as float32 (np.float32) in NCHW layout');
      }
      if (h.shape.length !== 4 || h.shape[1] !== 3) {
        throw inputError(file, `has shape [${h.shape.join(', ')}]`, 'the input must be NCHW with 3 channels, e.g. [1, 3, 224, 224]');
      }
      if (h.shape.includes(0)) {
        throw inputError(
          file,
          `has shape [${h.shape.join(', ')}]: ${h.shape[0] === 0 ? 'it holds no images (N = 0)' : 'an image with no pixels'}`,
          'save at least one image of at least 1 x 1 pixels, NCHW, e.g. [1, 3, 224, 224]',
        );
      }
      const [n, , hgt, w] = h.shape;
      if (n * hgt * w > limit) throw tooManyPixels(file, `${n} image(s) of ${w} x ${hgt} pixels`, n * hgt * w, limit);
    });
    for (let i = 0; i < arr.data.length; i++) {
      const v = arr.data[i];
      if (v - v !== 0) {
        throw inputError(
          file,
          `holds ${String(v)} at flat index ${i}; inputs must be finite numbers`,
          'replace NaN/Inf values before saving',
        );
      }
    }
    return tf.tidy(() => tf.transpose(tf.tensor4d(arr.data, arr.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
  }
  if (!IMAGE_EXT.has(ext)) throw inputError(file, `has an unsupported extension '${ext}'`, 'use a PNG/JPEG image or a float32 NCHW .npy');
  const img = await readImage(file, opts);
  return tf.tensor4d(img.data, [1, img.height, img.width, 3]);
}
