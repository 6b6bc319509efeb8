import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `f` so that its results are constants for autodiff: no gradient flows back through them,
 * and nothing `f` computes is recorded on an active gradient tape (so no memory is held for a
 * backward pass that will never use it). tfjs has no stop_gradient op; a customGrad's forward
 * function runs with tape recording off, and a customGrad with no inputs is a leaf of the tape.
 * The caller owns (and must dispose) the returned tensors.
 */
export function noGrad<T extends tf.Tensor>(f: () => T[]): T[] {
  let results: T[] = [];
  const marker = tf.customGrad(() => {
    results = f().map((t) => tf.keep(t));
    return { value: tf.scalar(0), gradFunc: () => [] as tf.Tensor[] };
  })();
  marker.dispose();
  return results;
}
