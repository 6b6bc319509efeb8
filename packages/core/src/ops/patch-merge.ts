/**
 * Swin's PatchMerging gather (torchvision's _patch_merging_pad) on NHWC maps: zero-pad H and W to
 * even sizes, then concatenate x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] on the
 * channel axis. Written as one reshape / transpose / reshape (the strided slices and the concat
 * in one move), whose gradient is the inverse transpose on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';

/** [N, H, W, C] -> [N, ceil(H/2), ceil(W/2), 4C]. */
export function patchMerge(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const padded =
      h % 2 || w % 2
        ? tf.pad(x, [
            [0, 0],
            [0, h % 2],
            [0, w % 2],
            [0, 0],
          ])
        : x;
    const h2 = Math.ceil(h / 2);
    const w2 = Math.ceil(w / 2);
    // [n, h2, dy, w2, dx, c] -> [n, h2, w2, dx, dy, c]: channel block dx * 2 + dy is x[dy::2, dx::2]
    const parts = tf.reshape(padded, [n, h2, 2, w2, 2, c]);
    return tf.reshape(tf.transpose(parts, [0, 1, 3, 4, 2, 5]), [n, h2, w2, 4 * c]);
  });
}
