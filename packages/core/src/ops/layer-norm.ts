/**
 * LayerNorm over the channel axis of NHWC data with PyTorch's semantics: biased variance, eps
 * inside the square root, then the per-channel affine. Used for nn.LayerNorm(C) on channels-last
 * maps and token rows, and for ConvNeXt's LayerNorm2d (which permutes to channels-last first).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';

/** (x - mean_c) / sqrt(var_c + eps) * weight + bias, statistics over the last axis of each position. */
export function layerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): T {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), axis, true);
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), weight), bias);
  }) as T;
}
