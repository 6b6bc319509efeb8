/**
 * The study's super-resolution loss: mean squared error between the loss network's features of
 * the output and of the target at ONE extraction point (no pixel or total-variation term), the
 * network fed raw [0,1] images by default (the reference code) or ImageNet-normalised ones.
 *
 * Written directly on FeatureExtractor.extract (a few lines) rather than core's PerceptualLoss,
 * which @dpl/core's index does not export yet. The mean runs over N, H, W and C, as
 * torch.nn.MSELoss does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configError, normalizeImages, type FeatureExtractor } from '@dpl/core';

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
  constructor(readonly o: FeatureMseOptions) {}

  /** Features at the point of images in [0, 1] (differentiable w.r.t. the images). */
  features(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const x = normalizeImages(images, this.o.normalize);
      const m = this.o.extractor.extract(x, [this.o.point], { batchNorm: this.o.mode });
      return m.get(this.o.point)!;
    });
  }

  /** The loss of `output` against precomputed target features. */
  loss(output: tf.Tensor4D, targetFeatures: tf.Tensor4D): tf.Scalar {
    return tf.tidy(() => tf.mean(tf.squaredDifference(this.features(output), targetFeatures)) as tf.Scalar);
  }
}
