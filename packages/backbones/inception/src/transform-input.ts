import * as tf from '@tensorflow/tfjs-core';
import { IMAGENET_MEAN, IMAGENET_STD } from '@dpl/core';

/**
 * torchvision's `transform_input` for GoogLeNet / Inception v3: re-maps an ImageNet-normalised
 * input ((x - mean) / std) to the (x - 0.5) / 0.5 scaling the ported TensorFlow weights expect,
 * i.e. per channel x * (std / 0.5) + (mean - 0.5) / 0.5. The study (and dpl's graphs) bypass it,
 * as running the module list skips forward(); apply this first to match model.forward with
 * transform_input=True. `x` is NHWC; the result is a new tensor, differentiable w.r.t. `x`.
 */
export function transformInput(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const scale = tf.tensor1d(IMAGENET_STD.map((s) => s / 0.5));
    const shift = tf.tensor1d(IMAGENET_MEAN.map((m) => (m - 0.5) / 0.5));
    return tf.add(tf.mul(x, scale), shift) as tf.Tensor4D;
  });
}
