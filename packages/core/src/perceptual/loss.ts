/**
 * Deep perceptual loss for training: the error between the loss network's features of a
 * prediction and of its target. The loss network is frozen: its weights are plain tensors, never
 * tf.Variables, so an optimizer cannot reach them; the target's features are constants.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FeatureExtractor, WeightsProvenance } from '../contracts/backbone';
import type { BatchNormMode } from '../graph/executor';
import { backendName } from '../backend';
import { configError, inputError } from '../errors';
import { checkInputSpec, describeInputSpec, prepareInput, type PerceptualInputSpec, type PerceptualResize } from './input';
import { checkPointWeights, PerceptualDistance, resolveUnique, type PerceptualFeatures } from './distance';
import { noGrad } from './no-grad';

/** mse / l1: mean over C, H, W of the feature difference; distance: the LPIPS baseline distance. */
export type PerceptualCriterion = 'mse' | 'l1' | 'distance';
/** How per-sample losses are reduced: kept, averaged or summed. */
export type PerceptualReduction = 'none' | 'mean' | 'sum';

/** Options of PerceptualLoss: points and weights, criterion, reduction, input spec. */
export interface PerceptualLossOptions {
  /** The frozen loss network; the caller keeps ownership. */
  extractor: FeatureExtractor;
  points: string[];
  /** One weight per point (default 1 each). */
  pointWeights?: number[];
  criterion: PerceptualCriterion;
  /** Over the batch: 'none' gives [N], 'mean' and 'sum' a scalar. */
  reduction: PerceptualReduction;
  input: PerceptualInputSpec;
  /** BatchNorm statistics of the loss network: 'eval' (default) or 'train' (the reference code). */
  batchNorm?: BatchNormMode;
  /** With batchNorm 'train': a seeded uniform source that switches on stochastic depth (mse / l1 criteria). */
  dropPathRandom?: () => number;
}

/** A PerceptualLoss's settings (network, points, criterion, input, weights), as recorded with results. */
export interface PerceptualLossRecord {
  kind: 'perceptual-loss';
  backbone: string;
  points: string[];
  pointWeights: number[];
  criterion: PerceptualCriterion;
  reduction: PerceptualReduction;
  input: { range: string; normalize: string; resize: PerceptualResize | null; validate: boolean };
  batchNorm: BatchNormMode;
  weights: WeightsProvenance;
  backend: string;
}

const CRITERIA: PerceptualCriterion[] = ['mse', 'l1', 'distance'];
const REDUCTIONS: PerceptualReduction[] = ['none', 'mean', 'sum'];

/** A differentiable feature-space loss between image batches on a frozen loss network. */
export class PerceptualLoss {
  readonly extractor: FeatureExtractor;
  readonly points: string[];
  readonly pointWeights: number[];
  readonly criterion: PerceptualCriterion;
  readonly reduction: PerceptualReduction;
  readonly input: PerceptualInputSpec;
  readonly batchNorm: BatchNormMode;
  private readonly dropPathRandom?: () => number;
  private readonly distance: PerceptualDistance | null;

  constructor(opts: PerceptualLossOptions) {
    if (!CRITERIA.includes(opts.criterion)) {
      throw configError(`loss criterion '${opts.criterion}'`, 'is not known', `use one of: ${CRITERIA.join(', ')}`);
    }
    if (!REDUCTIONS.includes(opts.reduction)) {
      throw configError(`loss reduction '${opts.reduction}'`, 'is not known', `use one of: ${REDUCTIONS.join(', ')}`);
    }
    checkInputSpec(opts.input);
    this.extractor = opts.extractor;
    this.points = resolveUnique(opts.extractor, opts.points).map((p) => p.name);
    this.pointWeights = checkPointWeights(opts.pointWeights, this.points.length);
    this.criterion = opts.criterion;
    this.reduction = opts.reduction;
    this.input = { ...opts.input };
    this.batchNorm = opts.batchNorm ?? 'eval';
    this.dropPathRandom = opts.dropPathRandom;
    this.distance =
      opts.criterion === 'distance'
        ? new PerceptualDistance({
            extractor: opts.extractor,
            points: this.points,
            pointWeights: this.pointWeights,
            input: this.input,
            variant: 'baseline',
            batchNorm: this.batchNorm,
          })
        : null;
  }

  /**
   * The loss between `pred` and `target` (same shape, NHWC, in the declared range): [N] for
   * reduction 'none', else a scalar. Differentiable w.r.t. `pred`; `target` gets no gradient.
   */
  compute(pred: tf.Tensor4D, target: tf.Tensor4D): tf.Tensor {
    if (pred.shape.join() !== target.shape.join()) {
      throw inputError(
        `pred [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}]`,
        'differ in shape',
        'pass a target for every prediction, same size',
      );
    }
    const t = this.targetFeatures(target);
    try {
      return this.computeWithTarget(pred, t);
    } finally {
      for (const f of t.values()) f.dispose();
    }
  }

  /**
   * The target's features as constants (no gradient, nothing recorded on a tape), for reuse
   * across several predictions of the same target. The caller disposes them.
   */
  targetFeatures(target: tf.Tensor4D): PerceptualFeatures {
    const feats = noGrad(() => {
      const f = this.distance ? this.distance.features(target) : this.rawFeatures(target);
      return this.points.map((p) => f.get(p)!);
    });
    return new Map(this.points.map((p, i) => [p, feats[i]]));
  }

  /**
   * The loss of `pred` against features from targetFeatures(); `reduction` overrides the loss's
   * own (a training loss and its per-image validation from one instance).
   */
  computeWithTarget(pred: tf.Tensor4D, target: PerceptualFeatures, reduction: PerceptualReduction = this.reduction): tf.Tensor {
    return tf.tidy(() => {
      let perSample: tf.Tensor1D;
      if (this.distance) {
        perSample = this.distance.computeWithReference(target, pred);
      } else {
        const fp = this.rawFeatures(pred);
        let total: tf.Tensor1D | null = null;
        this.points.forEach((p, i) => {
          const a = fp.get(p)!;
          const b = target.get(p);
          if (!b || b.shape.join() !== a.shape.join()) {
            throw inputError(
              `target features at '${p}'`,
              `are missing or of another shape than the prediction's [${a.shape.join(', ')}]`,
              "compute them with this loss's targetFeatures()",
            );
          }
          const diff = tf.sub(a, b);
          const err = this.criterion === 'mse' ? tf.square(diff) : tf.abs(diff);
          const d = tf.mul(tf.mean(err, [1, 2, 3]), this.pointWeights[i]) as tf.Tensor1D;
          total = total ? (tf.add(total, d) as tf.Tensor1D) : d;
        });
        perSample = total!;
      }
      if (reduction === 'none') return perSample;
      return reduction === 'mean' ? tf.mean(perSample) : tf.sum(perSample);
    });
  }

  describe(): PerceptualLossRecord {
    return {
      kind: 'perceptual-loss',
      backbone: this.extractor.backbone.id,
      points: [...this.points],
      pointWeights: [...this.pointWeights],
      criterion: this.criterion,
      reduction: this.reduction,
      input: describeInputSpec(this.input),
      batchNorm: this.batchNorm,
      weights: this.extractor.provenance,
      backend: backendName(),
    };
  }

  dispose(): void {
    this.distance?.dispose();
  }

  /**
   * The loss network's features of `x` (the loss's input spec applied) at every point, in point
   * order: one forward pass, differentiable w.r.t. `x` (mse / l1 criteria). The caller disposes them.
   */
  features(x: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const f = this.rawFeatures(x);
      return this.points.map((p) => f.get(p)!);
    });
  }

  /** Raw features at every point: one forward pass. */
  private rawFeatures(x: tf.Tensor4D): PerceptualFeatures {
    const net = prepareInput(x, this.input);
    try {
      return this.extractor.extract(net, this.points, { batchNorm: this.batchNorm, dropPathRandom: this.dropPathRandom });
    } finally {
      net.dispose();
    }
  }
}
