import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { inputError } from '../errors';
import { readNpy } from '../weights/npy';

/** An 8-bit-decoded image as float RGB in [0,1], HWC interleaved. */
export interface RgbFloatImage {
  width: number;
  height: number;
  data: Float32Array;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.gif']);

/** Decodes a PNG/JPEG/... file to RGB in [0,1] (alpha dropped, grayscale expanded). */
export async function readImage(file: string): Promise<RgbFloatImage> {
  if (!fs.existsSync(file)) throw inputError(file, 'does not exist', 'check the path');
  try {
    const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
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
 * 3 channels (-> NHWC, values as stored). Errors name the file.
 */
export async function readInputTensor(file: string): Promise<tf.Tensor4D> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') {
    if (!fs.existsSync(file)) throw inputError(file, 'does not exist', 'check the path');
    const arr = readNpy(fs.readFileSync(file), file);
    if (!arr.dtype.includes('f')) {
      throw inputError(file, `has dtype ${arr.dtype}`, 'save the input as float32 (np.float32) in NCHW layout');
    }
    if (arr.shape.length !== 4 || arr.shape[1] !== 3) {
      throw inputError(file, `has shape [${arr.shape.join(', ')}]`, 'the input must be NCHW with 3 channels, e.g. [1, 3, 224, 224]');
    }
    return tf.tidy(() => tf.transpose(tf.tensor4d(arr.data, arr.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
  }
  if (!IMAGE_EXT.has(ext)) throw inputError(file, `has an unsupported extension '${ext}'`, 'use a PNG/JPEG image or a float32 NCHW .npy');
  const img = await readImage(file);
  return tf.tensor4d(img.data, [1, img.height, img.width, 3]);
}
