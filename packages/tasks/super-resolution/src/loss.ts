/**
 * The study's super-resolution loss: mean squared error between the loss network's features of
 * the output and of the target at ONE extraction point (no pixel or total-variation term), the
 * network fed raw [0,1] images by default (the reference code) or ImageNet-normalised ones.
 * core's PerceptualLoss (criterion mse, mean over the batch of each image's mean over H, W, C:
 * torch.nn.MSELoss's mean, as every image has the same size).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { configError, PerceptualLoss, type FeatureExtractor } from '@dpl/core';

export interface FeatureMseOptions {
  extractor: FeatureExtractor;
  point: string;
  normalize: 'none' | 'imagenet';
  /** BatchNorm statistics of the loss network: 'eval' (running) or 'train' (batch; the reference code's pitfall). */
  mode: 'eval' | 'train';
}

/** The one point of a run; several are an error (the study trains one network per point). */
export function singlePoint(points: readonly string[]): string {
  if (points.length !== 1) {
    throw configError(
      `extraction points ${points.length ? points.join(', ') : '(none)'}`,
      `super-resolution trains on exactly ONE point, got ${points.length}`,
      "pass a single point, e.g. --points relu2_2 (run one cell per point; 'paper' expands to four)",
    );
  }
  return points[0];
}

export class FeatureMse {
  private readonly perceptual: PerceptualLoss;

  constructor(readonly o: FeatureMseOptions) {
    this.perceptual = new PerceptualLoss({
      extractor: o.extractor,
      points: [o.point],
      criterion: 'mse',
      reduction: 'mean',
      input: { range: '[0,1]', normalize: o.normalize, validate: false },
      batchNorm: o.mode,
    });
  }

  /** Features at the point of images in [0, 1] (differentiable w.r.t. the images). */
  features(images: tf.Tensor4D): tf.Tensor4D {
    return this.perceptual.features(images)[0];
  }

  /** The loss of `output` against precomputed target features. */
  loss(output: tf.Tensor4D, targetFeatures: tf.Tensor4D): tf.Scalar {
    return this.perceptual.computeWithTarget(output, new Map([[this.perceptual.points[0], targetFeatures]])) as tf.Scalar;
  }
}
