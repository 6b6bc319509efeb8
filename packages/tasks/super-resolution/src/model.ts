/**
 * The image transformation network of Johnson et al. 2016 for super-resolution, as the study
 * specifies it (docs/PROTOCOL.md section 4), NHWC, over a ParamStore:
 *
 *   conv1   9x9 conv 3->64, reflect pad 4, BN, ReLU
 *   res1-4  [3x3 conv, BN, ReLU, 3x3 conv, BN] + identity   (3x3 convs reflect-padded by 1)
 *   up1-k   nearest x2, 3x3 conv 64->64 reflect pad 1, BN, ReLU   (k = log2(scale): 2 for x4, 3 for x8)
 *   out     9x9 conv 64->3, reflect pad 4, BN, tanh; image = (tanh + 1) / 2 in [0, 1]
 *
 * The protocol leaves the residual convs' padding open; reflect padding by 1 keeps the spatial size
 * (Johnson's original used unpadded convs and cropped the identity) and matches the other convs.
 *
 * Global residual (a `quick`-preset option, NOT the study's model): given the bicubic upsampling
 * of the LR input as `base`, the image is clip(base + tanh / 2, 0, 1), i.e. the constant
 * mid-grey offset of (tanh + 1) / 2 becomes the bicubic image (VDSR's design, Kim et al. 2016).
 * With the output BatchNorm's weight zeroed at initialisation (buildTransformNet) the untrained
 * network returns bicubic exactly, so a short run only has to learn the correction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError, nn, type ParamStore } from '@dpl/core';

export const WIDTH = 64;
export const RESIDUAL_BLOCKS = 4;

/** 'none': the study's (tanh + 1) / 2 output; 'bicubic': bicubic(LR) + tanh / 2 (see the file header). */
export type GlobalResidual = 'none' | 'bicubic';
export const GLOBAL_RESIDUALS: readonly GlobalResidual[] = ['none', 'bicubic'];

/** Upsampling blocks for a scale: 2 for x4, 3 for x8. */
export function upsamplingBlocks(scale: number): number {
  const k = Math.log2(scale);
  if (!Number.isInteger(k) || k < 1) throw inputError('scale', `must be a power of two >= 2, got ${scale}`, 'use 4 or 8');
  return k;
}

const reflect = (store: ParamStore, name: string, x: tf.Tensor4D, out: number, k: number) =>
  nn.conv(store, name, x, { out, k, pad: (k - 1) / 2, padMode: 'reflect' });

const convBn = (store: ParamStore, name: string, x: tf.Tensor4D, out: number, k: number, training: boolean) =>
  nn.batchNorm(store, `${name}.bn`, reflect(store, `${name}.conv`, x, out, k), training);

/**
 * The super-resolved image in [0, 1], [N, s*H, s*W, 3], of LR images x [N, H, W, 3] in [0, 1].
 * training: BatchNorm uses (and moves) batch statistics. Parameters are created on the first call.
 * base: the bicubic upsampling of x ([N, s*H, s*W, 3], a constant) for the global residual; omit
 * it for the study's network.
 */
export function transformNet(store: ParamStore, x: tf.Tensor4D, scale: number, training: boolean, base?: tf.Tensor4D): tf.Tensor4D {
  if (x.rank !== 4 || x.shape[3] !== 3) throw inputError('LR images', `must be NHWC with 3 channels, got [${x.shape.join(', ')}]`);
  if (Math.min(x.shape[1], x.shape[2]) < 5) {
    throw inputError(
      'LR images',
      `are ${x.shape[1]}x${x.shape[2]}; the 9x9 reflect-padded input conv needs at least 5x5`,
      'use larger images',
    );
  }
  const ups = upsamplingBlocks(scale);
  const outShape = [x.shape[0], scale * x.shape[1], scale * x.shape[2], 3];
  if (base && base.shape.some((d, i) => d !== outShape[i])) {
    throw inputError(
      'bicubic base',
      `has shape [${base.shape.join(', ')}], the output is [${outShape.join(', ')}]`,
      'upsample the same LR images',
    );
  }
  return tf.tidy((): tf.Tensor4D => {
    let h = tf.relu(convBn(store, 'conv1', x, WIDTH, 9, training));
    for (let i = 1; i <= RESIDUAL_BLOCKS; i++) {
      const a = tf.relu(convBn(store, `res${i}.a`, h, WIDTH, 3, training));
      h = tf.add(h, convBn(store, `res${i}.b`, a, WIDTH, 3, training));
    }
    for (let i = 1; i <= ups; i++) h = tf.relu(convBn(store, `up${i}`, nn.upsampleNearest2x(h), WIDTH, 3, training));
    const y = tf.tanh(convBn(store, 'out', h, 3, 9, training));
    if (!base) return tf.div(tf.add(y, 1), 2);
    // bicubic + residual can leave [0, 1]; images cannot (and the clip lets no gradient through there)
    return tf.clipByValue(tf.add(base, tf.div(y, 2)) as tf.Tensor4D, 0, 1);
  });
}

/**
 * Creates every parameter of the network for `scale` (an eval-mode pass on a tiny input). With a
 * global residual the output BatchNorm's weight starts at 0 (as ResNets' last BN of a block,
 * Goyal et al. 2017), so the untrained network outputs exactly the bicubic base.
 */
export function buildTransformNet(store: ParamStore, scale: number, globalResidual: GlobalResidual = 'none'): string[] {
  const names = store.build(() => {
    const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    return transformNet(store, x, scale, false);
  });
  if (globalResidual === 'bicubic') {
    const gamma = store.get('out.bn.weight');
    tf.tidy(() => gamma.assign(tf.zerosLike(gamma)));
  }
  return names;
}
