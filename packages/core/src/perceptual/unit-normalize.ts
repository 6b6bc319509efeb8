import * as tf from '@tensorflow/tfjs-core';

/** LPIPS's normalize_tensor epsilon: x / (||x||_2 over channels + 1e-10). */
export const UNIT_NORM_EPS = 1e-10;

/**
 * Unit-normalises NHWC features over channels: y = x / (sqrt(sum_c x^2) + eps), as LPIPS does.
 *
 * The gradient is written out because autodiff of sqrt(sum x^2) gives 0 * inf = NaN wherever a
 * feature vector is exactly zero (common after ReLU), and the NaN survives the ReLU's zero
 * gradient and poisons the whole input gradient. Analytically
 *   dL/dx = g / (n + eps) - (x / n) * <x, g> / (n + eps)^2,
 * whose second term tends to 0 as x -> 0, so it is dropped where n = 0. The order of operations
 * keeps every intermediate bounded (x / n is a unit vector).
 */
export const unitNormalize = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const n = tf.sqrt(tf.sum(tf.square(x), -1, true));
  const d = tf.add(n, UNIT_NORM_EPS);
  save([x, n]);
  return {
    value: tf.div(x, d),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sn] = saved;
      const sd = tf.add(sn, UNIT_NORM_EPS);
      const dir = tf.div(sx, tf.where(tf.greater(sn, 0), sn, tf.onesLike(sn)));
      const dot = tf.sum(tf.mul(sx, dy), -1, true);
      return tf.sub(tf.div(dy, sd), tf.div(tf.mul(dir, tf.div(dot, sd)), sd));
    },
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;
