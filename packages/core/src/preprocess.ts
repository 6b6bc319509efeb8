import * as tf from '@tensorflow/tfjs-core';
import type { InputNormalization } from './contracts/backbone';

/** torchvision's ImageNet channel means (RGB, inputs in [0,1]). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
/** torchvision's ImageNet channel standard deviations (RGB, inputs in [0,1]). */
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Maps NHWC images in [0,1] to a network's expected input. */
export function normalizeImages(x: tf.Tensor4D, mode: InputNormalization): tf.Tensor4D {
  if (mode === 'none') return x.clone();
  return tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(IMAGENET_MEAN)), tf.tensor1d(IMAGENET_STD)));
}
