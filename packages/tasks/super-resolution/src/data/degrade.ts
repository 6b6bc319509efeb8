/**
 * The study's HR/LR pair from one 8-bit image, every step on 8-bit images with Pillow's exact
 * arithmetic (core's image ops), as the reference code does with PIL:
 *   HR = centre crop hrSize of (shorter side resized to hrSize, bilinear)
 *   LR, degradation 'official' (what the study's code did, docs/PROTOCOL.md "Deviations"):
 *        centre crop hrSize/scale of (GaussianBlur(radius) of the WHOLE original image, shorter
 *        side resized to hrSize/scale, bicubic)
 *   LR, degradation 'crop-first': bicubic resize to hrSize/scale of GaussianBlur(radius) of HR
 * The two differ: the blur sees the original's pixels (not the 288 px HR), the bicubic filter
 * spans the original's scale factor, and the crops round differently.
 */
import { centerCrop, gaussianBlur, inputError, resize, resizeShorterSide, type Image8 } from '@dpl/core';

export type Degradation = 'official' | 'crop-first';
export const DEGRADATIONS: readonly Degradation[] = ['official', 'crop-first'];

export interface DegradeOptions {
  hrSize: number;
  scale: number;
  blurRadius: number;
  /** Default 'crop-first'. */
  degradation?: Degradation;
}

export interface SrPair {
  /** hrSize x hrSize RGB. */
  hr: Image8;
  /** (hrSize/scale) square RGB. */
  lr: Image8;
}

export function hrTarget(img: Image8, hrSize: number): Image8 {
  if (img.channels !== 3) throw inputError('image', `has ${img.channels} channels`, 'pass an RGB image');
  return centerCrop(resizeShorterSide(img, hrSize, 'bilinear'), hrSize, hrSize);
}

export function lrInput(hr: Image8, scale: number, blurRadius: number): Image8 {
  const side = hr.width / scale;
  if (!Number.isInteger(side) || hr.width !== hr.height) {
    throw inputError('HR image', `is ${hr.width}x${hr.height}, not a square divisible by ${scale}`);
  }
  const blurred = blurRadius > 0 ? gaussianBlur(hr, blurRadius) : hr;
  return resize(blurred, side, side, 'bicubic');
}

/** The study's code: blur the whole original, resize its shorter side to hrSize/scale (bicubic), centre crop. */
function lrFromOriginal(img: Image8, hrSize: number, scale: number, blurRadius: number): Image8 {
  if (img.channels !== 3) throw inputError('image', `has ${img.channels} channels`, 'pass an RGB image');
  const side = hrSize / scale;
  const blurred = blurRadius > 0 ? gaussianBlur(img, blurRadius) : img;
  return centerCrop(resizeShorterSide(blurred, side, 'bicubic'), side, side);
}

export function degrade(img: Image8, o: DegradeOptions): SrPair {
  const hr = hrTarget(img, o.hrSize);
  const lr = o.degradation === 'official' ? lrFromOriginal(img, o.hrSize, o.scale, o.blurRadius) : lrInput(hr, o.scale, o.blurRadius);
  return { hr, lr };
}

/** The bicubic-upsampling baseline: LR resized back to the HR size with Pillow's bicubic (8-bit, as PIL returns it). */
export function bicubicUpsample(lr: Image8, width: number, height = width): Image8 {
  return resize(lr, width, height, 'bicubic');
}
