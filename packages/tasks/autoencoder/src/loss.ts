/**
 * The autoencoder's reconstruction loss: MSE between the loss network's features of the input
 * and of the reconstruction at the extraction point (the study), or plain pixel MSE (its
 * baseline). MSE is torch's nn.MSELoss: the mean over batch, positions and channels; with several
 * points (the study uses one) the per-point MSEs are summed.
 *
 * The input's features are targets: `targets` computes them outside any gradient tape (the
 * training loop calls it while making the batch), so only the reconstruction's pass through the
 * loss network is differentiated. The perceptual kind is core's PerceptualLoss (criterion mse;
 * its mean over the batch of each image's mean is nn.MSELoss's mean, every image the same size).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PerceptualLoss, type FeatureExtractor, type PerceptualReduction } from '@dpl/core';
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
  /** The feature loss (perceptual kind only). */
  private readonly perceptual: PerceptualLoss | null;

  constructor(readonly o: ReconstructionLossOptions) {
    this.perceptual =
      o.kind === 'perceptual'
        ? new PerceptualLoss({
            extractor: o.extractor,
            points: o.points,
            criterion: 'mse',
            reduction: 'mean',
            input: { range: '[0,1]', normalize: o.normalize, validate: false },
            batchNorm: o.batchNorm,
            dropPathRandom: o.dropPathRandom,
          })
        : null;
  }

  /** What the reconstruction is compared with: the input's features (perceptual) or the input itself (pixel). */
  targets(x: tf.Tensor4D): tf.Tensor[] {
    return this.perceptual ? this.perceptual.features(x) : [x.clone()];
  }

  /** Scalar loss of `recon` against `targets(x)`; differentiable w.r.t. recon. */
  loss(recon: tf.Tensor4D, targets: tf.Tensor[]): tf.Scalar {
    return this.compare(recon, targets, 'mean') as tf.Scalar;
  }

  /** Per-image loss [N] (mean over each image's elements, summed over points), for validation. */
  perImage(recon: tf.Tensor4D, targets: tf.Tensor[]): tf.Tensor1D {
    return this.compare(recon, targets, 'none') as tf.Tensor1D;
  }

  private compare(recon: tf.Tensor4D, targets: tf.Tensor[], reduction: PerceptualReduction): tf.Tensor {
    if (this.perceptual) {
      const p = this.perceptual;
      return p.computeWithTarget(recon, new Map(p.points.map((name, i) => [name, targets[i] as tf.Tensor4D])), reduction);
    }
    return tf.tidy(() => {
      const sq = tf.squaredDifference(recon, targets[0]);
      return reduction === 'none' ? tf.mean(sq, [1, 2, 3]) : tf.mean(sq);
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
