/**
 * The training loss of docs/PROTOCOL.md section 5:
 *   sum over steps i of (i+1)/(K(K+1)/2) * [ BCE(p_i, gt) + mu * mean over points of MSE(F(p_i), F(gt)) ]
 * where F is the frozen loss network up to an extraction point, fed the 1-channel mask replicated
 * to 3 channels with ImageNet mean/std normalisation (the reference's `(x - mean) / std` on
 * torch.cat((y, y, y))). Averaging over points matches the reference (sum / number of layers).
 *
 * BCE is computed from the logits, max(z, 0) - z*y + log(1 + exp(-|z|)): the same value as
 * torch's BCELoss on sigmoid(z) wherever that is finite, without its log clamp at -100 and with
 * a gradient that does not vanish when the sigmoid saturates.
 *
 * The perceptual term is core's PerceptualLoss (criterion mse, weight 1/points per point; the
 * mask, one channel, is replicated to three by its input step).
 */
import * as tf from '@tensorflow/tfjs-core';
import { IMAGENET_MEAN, IMAGENET_STD, PerceptualLoss, type FeatureExtractor } from '@dpl/core';
import { stepWeight } from './model';

/** Mean binary cross-entropy of logits z against targets y in [0, 1] (same shape). */
export function bceWithLogits(z: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))))));
}

export interface PerceptualTerm {
  net: FeatureExtractor;
  points: readonly string[];
  /** The loss network's mode ('train' reproduces the study's code: batch statistics, stochastic depth). */
  mode: 'eval' | 'train';
  /** In train mode: the seeded source of stochastic-depth draws (absent: stochastic depth off). */
  dropPathRandom?: () => number;
}

/** The loss network's input for a mask [N, H, W, 1] in [0, 1]: 3 copies, ImageNet-normalised. */
export function maskToNetworkInput(mask: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.sub(tf.tile(mask, [1, 1, 1, 3]), tf.tensor1d(IMAGENET_MEAN)), tf.tensor1d(IMAGENET_STD)));
}

/** The PerceptualLoss of a term, made once per term. */
const losses = new WeakMap<PerceptualTerm, PerceptualLoss>();
function perceptualLoss(term: PerceptualTerm): PerceptualLoss {
  let loss = losses.get(term);
  if (!loss) {
    loss = new PerceptualLoss({
      extractor: term.net,
      points: [...term.points],
      pointWeights: term.points.map(() => 1 / term.points.length),
      criterion: 'mse',
      reduction: 'mean',
      input: { range: '[0,1]', normalize: 'imagenet', validate: false },
      batchNorm: term.mode,
      dropPathRandom: term.dropPathRandom,
    });
    losses.set(term, loss);
  }
  return loss;
}

/** Features of a mask at every point, in point order: one forward pass. Differentiable w.r.t. mask. */
export function maskFeatures(mask: tf.Tensor4D, term: PerceptualTerm): tf.Tensor4D[] {
  return perceptualLoss(term).features(mask);
}

/** Mean over points of the mean squared difference between the features of `mask` and `target`. */
function featureMse(mask: tf.Tensor4D, target: readonly tf.Tensor4D[], term: PerceptualTerm): tf.Scalar {
  const loss = perceptualLoss(term);
  return loss.computeWithTarget(mask, new Map(loss.points.map((p, j) => [p, target[j]]))) as tf.Scalar;
}

export interface IterativeLossInput {
  /** Logits of each refinement step. */
  logits: readonly tf.Tensor4D[];
  gt: tf.Tensor4D;
  /** F(gt) at each point (from maskFeatures, computed once per batch outside the gradient tape). */
  gtFeatures?: readonly tf.Tensor4D[];
  mu: number;
  term?: PerceptualTerm;
}

/** The weighted loss over refinement steps; with mu = 0 (or no term) the loss network is not run. */
export function iterativeLoss(o: IterativeLossInput): tf.Scalar {
  return tf.tidy(() => {
    const k = o.logits.length;
    const usePerceptual = o.mu > 0 && o.term !== undefined && o.gtFeatures !== undefined;
    const parts = o.logits.map((z, i) => {
      let l = bceWithLogits(z, o.gt);
      if (usePerceptual) l = tf.add(l, tf.mul(featureMse(tf.sigmoid(z), o.gtFeatures!, o.term!), o.mu));
      return tf.mul(l, stepWeight(i, k));
    });
    return tf.addN(parts) as tf.Scalar;
  });
}
