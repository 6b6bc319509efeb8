/**
 * The input contract of perceptual distances and losses: what range the caller's images are in,
 * how they are mapped to the loss network's input, and an optional resize. Declaring the range
 * explicitly turns the classic silent bug (feeding [0,255] or [-1,1] images to a network that
 * expects [0,1]) into an error.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configError, inputError } from '../errors';
import { IMAGENET_MEAN, IMAGENET_STD } from '../preprocess';
import { resizeBilinear } from './bilinear';

/** The value range of the images given to a perceptual distance or loss. */
export type PerceptualRange = '[0,1]' | '[-1,1]';
/** How images are normalised before the network: ImageNet mean/std, LPIPS's shift and scale, [-1,1], or none. */
export type PerceptualNormalization = 'imagenet' | 'lpips' | 'signed' | 'none';

/** A resize of the input before the network (bilinear, as PyTorch's F.interpolate). */
export interface PerceptualResize {
  height: number;
  width: number;
  /** Bilinear with half-pixel centres, as PyTorch's F.interpolate(align_corners=False); no antialiasing. */
  method: 'bilinear';
}

/** What the network gets: range, normalisation and resize of the input images. */
export interface PerceptualInputSpec {
  /** The range the caller's images are in. */
  range: PerceptualRange;
  /**
   * How images are mapped to the network input: 'imagenet' = (x01 - mean) / std;
   * 'lpips' = LPIPS's ScalingLayer on [-1,1] input, (x - shift) / scale (LPIPS v0.1);
   * 'signed' = x in [-1,1] unscaled (LPIPS v0.0, which skipped its ScalingLayer); 'none' = x in [0,1].
   */
  normalize: PerceptualNormalization;
  resize?: PerceptualResize | null;
  /**
   * Check the declared range on every call (default true). The check reads two numbers back from
   * the backend; a training loop that has validated its data may turn it off.
   */
  validate?: boolean;
}

/** LPIPS's ScalingLayer constants (Zhang et al. 2018), applied to input in [-1,1]. */
export const LPIPS_SHIFT = [-0.03, -0.088, -0.188];
export const LPIPS_SCALE = [0.458, 0.448, 0.45];

/** Values this far outside the declared range are still accepted (float rounding upstream). */
export const RANGE_TOLERANCE = 1e-5;

const RANGES: Record<PerceptualRange, [number, number]> = { '[0,1]': [0, 1], '[-1,1]': [-1, 1] };
const NORMALIZATIONS: PerceptualNormalization[] = ['imagenet', 'lpips', 'signed', 'none'];

/** Throws a configError for a malformed spec (a typo'd range would otherwise mean no check). */
export function checkInputSpec(spec: PerceptualInputSpec): void {
  if (!spec || !(spec.range in RANGES)) {
    throw configError(`input range '${spec?.range}'`, 'is not a known range', "use '[0,1]' or '[-1,1]'");
  }
  if (!NORMALIZATIONS.includes(spec.normalize)) {
    throw configError(`input normalize '${spec.normalize}'`, 'is not a known normalisation', `use one of: ${NORMALIZATIONS.join(', ')}`);
  }
  const r = spec.resize;
  if (r) {
    if (r.method !== 'bilinear') throw configError(`input resize method '${r.method}'`, 'is not supported', "use 'bilinear'");
    for (const [k, v] of [
      ['height', r.height],
      ['width', r.width],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw configError(`input resize ${k} ${v}`, 'must be a positive integer');
    }
  }
}

/** Observed min/max (and whether every value is finite) of a tensor, read back synchronously. */
function observedRange(x: tf.Tensor): { min: number; max: number; finite: boolean } {
  const v = tf.tidy(() => tf.stack([tf.min(x), tf.max(x), tf.sum(x)]).dataSync());
  return { min: v[0], max: v[1], finite: Number.isFinite(v[2]) };
}

/** Throws an inputError naming the observed range when `x` is outside the declared one. */
export function checkRange(x: tf.Tensor, range: PerceptualRange, what = 'images'): void {
  const [lo, hi] = RANGES[range];
  const o = observedRange(x);
  if (!o.finite || Number.isNaN(o.min) || Number.isNaN(o.max)) {
    throw inputError(what, 'contain NaN or infinite values', 'check the model output or data that produced them');
  }
  if (o.min < lo - RANGE_TOLERANCE || o.max > hi + RANGE_TOLERANCE) {
    const other = range === '[0,1]' ? '[-1,1]' : '[0,1]';
    throw inputError(
      what,
      `have values in [${o.min}, ${o.max}], outside the declared range ${range}`,
      `rescale them to ${range} (images in [0,255] divide by 255), or declare range '${other}' if that is what they are in`,
    );
  }
}

/**
 * Maps NHWC images in the declared range to the loss network's input: range check, optional
 * bilinear resize, grayscale (C=1) expanded to 3 channels, then the declared normalisation.
 * Differentiable w.r.t. `x`.
 */
export function prepareInput(x: tf.Tensor4D, spec: PerceptualInputSpec): tf.Tensor4D {
  checkInputSpec(spec);
  if (x.rank !== 4) {
    throw inputError(`images of shape [${x.shape.join(', ')}]`, 'must be a rank-4 NHWC tensor', 'add a batch dimension');
  }
  const c = x.shape[3];
  if (c !== 1 && c !== 3) {
    throw inputError(
      `images of shape [${x.shape.join(', ')}]`,
      `have ${c} channels`,
      'pass RGB (3 channels) or grayscale (1 channel) NHWC images',
    );
  }
  if (x.dtype !== 'float32') {
    throw inputError(`images of dtype ${x.dtype}`, 'must be float32', `cast them and scale to ${spec.range}`);
  }
  if (spec.validate !== false) checkRange(x, spec.range);
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    // resize first: it is linear with weights summing to 1, so it commutes with the per-channel
    // affine maps below, and it is cheaper on one channel than on three
    const r = spec.resize;
    if (r && (r.height !== y.shape[1] || r.width !== y.shape[2])) {
      y = resizeBilinear(y, r.height, r.width);
    }
    if (c === 1) y = tf.tile(y, [1, 1, 1, 3]);
    const toUnit = (t: tf.Tensor4D): tf.Tensor4D => (spec.range === '[0,1]' ? t : tf.div(tf.add(t, 1), 2));
    switch (spec.normalize) {
      case 'imagenet':
        return tf.div(tf.sub(toUnit(y), tf.tensor1d(IMAGENET_MEAN)), tf.tensor1d(IMAGENET_STD));
      case 'lpips': {
        const m11 = spec.range === '[-1,1]' ? y : tf.sub(tf.mul(y, 2), 1);
        return tf.div(tf.sub(m11, tf.tensor1d(LPIPS_SHIFT)), tf.tensor1d(LPIPS_SCALE));
      }
      case 'signed':
        return spec.range === '[-1,1]' ? y.clone() : tf.sub(tf.mul(y, 2), 1);
      case 'none': {
        const u = toUnit(y);
        // a tensor of its own even when nothing changed: callers dispose what this returns
        return u === x ? x.clone() : u;
      }
    }
  });
}

/** A stable, JSON-friendly copy of a spec (for provenance records). */
export function describeInputSpec(
  spec: PerceptualInputSpec,
): Required<Omit<PerceptualInputSpec, 'resize'>> & { resize: PerceptualResize | null } {
  return {
    range: spec.range,
    normalize: spec.normalize,
    resize: spec.resize ? { height: spec.resize.height, width: spec.resize.width, method: spec.resize.method } : null,
    validate: spec.validate !== false,
  };
}
