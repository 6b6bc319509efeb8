/**
 * PyTorch's exact GELU, x * Phi(x) with Phi the standard normal CDF (not the tanh approximation),
 * and Hardsigmoid, on every backend with gradients.
 *
 * tf.erf exists on wasm and cpu, but both evaluate Abramowitz-Stegun 7.1.26 (absolute error
 * 1.5e-7), so 1 + erf(x / sqrt 2) loses its relative accuracy for x < 0 (measured against float64:
 * 5e-5 relative on wasm, 2e-4 on cpu at x = -3). Here Phi comes from erfc, never from 1 + erf:
 * Numerical Recipes' Chebyshev fit of erfc (fractional error < 1.2e-7 for every argument), written
 * from element-wise ops that every backend has. The forward and the gradient
 * dy * (Phi(x) + x * phi(x)) are one customGrad, so the tape keeps x, not the ~30 intermediates.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';

// erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z / 2), z >= 0 (Numerical Recipes, 2nd ed., 6.2)
const ERFC_P = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];

/** The standard normal CDF of x: relative error <= 3.4e-7 against float64 for |x| <= 5.5 (test/ops/channel-ops.test.ts). */
export function normalCdf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    const t = tf.div(1, tf.add(tf.mul(a, Math.SQRT1_2 / 2), 1));
    let p: tf.Tensor = tf.scalar(ERFC_P[ERFC_P.length - 1]);
    for (let i = ERFC_P.length - 2; i >= 0; i--) p = tf.add(tf.mul(p, t), ERFC_P[i]);
    // exp(-x^2 / 2) with x = hi + lo, hi on a 1/256 grid so hi^2 / 2 is exact in float32: one
    // rounded z^2 would cost ~eps * z^2 relative (2e-6 at |x| = 5.5)
    const hi = tf.div(tf.round(tf.mul(a, 256)), 256);
    const lo = tf.sub(a, hi);
    const big = tf.exp(tf.mul(tf.square(hi), -0.5));
    const small = tf.exp(tf.sub(p, tf.mul(tf.mul(tf.add(tf.mul(hi, 2), lo), lo), 0.5)));
    // half the tail mass: Phi(-|x|) = erfc(|x| / sqrt 2) / 2
    const tail = tf.mul(tf.mul(tf.mul(t, big), small), 0.5);
    return tf.where(tf.less(x, 0), tail, tf.sub(1, tail));
  });
}

const gradGelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.tidy(() => tf.mul(x, normalCdf(x))),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [xs] = saved;
        // d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return tf.mul(dy, tf.add(normalCdf(xs), tf.mul(xs, pdf)));
      }),
  };
});

/** torch.nn.GELU() (approximate='none'). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return gradGelu(x) as T;
}

/** torch.nn.Hardsigmoid: relu6(x + 3) / 6. */
export function hardsigmoid<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6)) as T;
}
