/** Browser stand-in for core's backend.ts: the page chooses its backend itself (worker/backend.ts). */
import * as tf from '@tensorflow/tfjs-core';

export function backendName(): string {
  return tf.getBackend();
}
