/** nn.Linear on every position's channel vector of NHWC data (and ConvNeXt's layer scale). */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';

/** x [..., in] times w [in, out] (+ b [out]) at every position: one [positions, in] x [in, out] product. */
export function channelLinear<T extends tf.Tensor>(x: T, w: tf.Tensor2D, b: tf.Tensor1D | null): T {
  return tf.tidy(() => {
    const inC = x.shape[x.rank - 1];
    const y = tf.matMul(tf.reshape(x, [-1, inC]), w);
    const yb = b ? tf.add(y, b) : y;
    return tf.reshape(yb, [...x.shape.slice(0, -1), w.shape[1]]);
  }) as T;
}
