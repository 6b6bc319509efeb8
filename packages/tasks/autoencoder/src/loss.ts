/**
 * The autoencoder's reconstruction loss: MSE between the loss network's features of the input
 * and of the reconstruction at the extraction point (the study), or plain pixel MSE (its
 * baseline). MSE is torch's nn.MSELoss: the mean over batch, positions and channels; with several
 * points (the study uses one) the per-point MSEs are summed.
 *
 * The input's features are targets: `targets` computes them outside any gradient tape (the
 * training loop calls it while making the batch), so only the reconstruction's pass through the
 * loss network is differentiated. The loss network is called directly through
 * FeatureExtractor.extract (a few lines; core's PerceptualLoss is not exported from @dpl/core yet).
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalizeImages, type FeatureExtractor } from '@dpl/core';
import type { ReconstructionLossKind } from './config';

export interface ReconstructionLossOptions {
  kind: ReconstructionLossKind;
  extractor: FeatureExtractor;
  points: string[];
  normalize: 'none' | 'imagenet';
  batchNorm: 'eval' | 'train';
  /** With batchNorm 'train': the seeded source of EfficientNet's stochastic-depth draws (absent: off). */
  dropPathRandom?: () => number;
}

export interface ReconstructionLossRecord {
  kind: ReconstructionLossKind;
  /** The loss network and point (perceptual only). */
  backbone: string | null;
  points: string[];
  normalize: 'none' | 'imagenet' | null;
  lossNetworkMode: 'eval' | 'train' | null;
  criterion: 'mse';
}

export class ReconstructionLoss {
  constructor(readonly o: ReconstructionLossOptions) {}

  private features(x: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const net = normalizeImages(x, this.o.normalize);
      const f = this.o.extractor.extract(net, this.o.points, { batchNorm: this.o.batchNorm, dropPathRandom: this.o.dropPathRandom });
      return this.o.points.map((p) => f.get(p)!);
    });
  }

  /** What the reconstruction is compared with: the input's features (perceptual) or the input itself (pixel). */
  targets(x: tf.Tensor4D): tf.Tensor[] {
    return this.o.kind === 'pixel' ? [x.clone()] : this.features(x);
  }

  /** Scalar loss of `recon` against `targets(x)`; differentiable w.r.t. recon. */
  loss(recon: tf.Tensor4D, targets: tf.Tensor[]): tf.Scalar {
    return tf.tidy(() => {
      const preds = this.o.kind === 'pixel' ? [recon] : this.features(recon);
      let total: tf.Scalar | null = null;
      preds.forEach((p, i) => {
        const mse = tf.mean(tf.squaredDifference(p, targets[i])) as tf.Scalar;
        total = total ? (tf.add(total, mse) as tf.Scalar) : mse;
      });
      return total!;
    });
  }

  /** Per-image loss [N] (mean over each image's elements, summed over points), for validation. */
  perImage(recon: tf.Tensor4D, targets: tf.Tensor[]): tf.Tensor1D {
    return tf.tidy(() => {
      const preds = this.o.kind === 'pixel' ? [recon] : this.features(recon);
      let total: tf.Tensor1D | null = null;
      preds.forEach((p, i) => {
        const m = tf.mean(tf.squaredDifference(p, targets[i]), [1, 2, 3]) as tf.Tensor1D;
        total = total ? (tf.add(total, m) as tf.Tensor1D) : m;
      });
      return total!;
    });
  }

  describe(): ReconstructionLossRecord {
    const perceptual = this.o.kind === 'perceptual';
    return {
      kind: this.o.kind,
      backbone: perceptual ? this.o.extractor.backbone.id : null,
      points: perceptual ? [...this.o.points] : [],
      normalize: perceptual ? this.o.normalize : null,
      lossNetworkMode: perceptual ? this.o.batchNorm : null,
      criterion: 'mse',
    };
  }
}
