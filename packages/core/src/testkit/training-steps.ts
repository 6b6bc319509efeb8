import * as tf from '@tensorflow/tfjs-core';
import '../gradients';
import type { FeatureExtractor } from '../contracts/backbone';
import type { BatchNormMode } from '../graph/executor';
import { PerceptualLoss } from '../perceptual/loss';

/** What perceptualTrainingSteps runs: the points, the image size and the loss network's mode. */
export interface TrainingStepsOptions {
  /** Points of the loss (names, aliases or E1..E4). */
  points: string[];
  /** [height, width] of the images (default 40x44: small, not square). */
  size?: [number, number];
  /** Optimizer steps (default 5). */
  steps?: number;
  /** Loss network mode (default 'eval'). */
  batchNorm?: BatchNormMode;
  /** With batchNorm 'train': the seeded source that switches on stochastic depth. */
  dropPathRandom?: () => number;
}

/** Per step: the loss and tf.memory().numTensors after it; and the tensors left over after the whole run. */
export interface TrainingStepsResult {
  losses: number[];
  counts: number[];
  /** numTensors after the run minus before it (0 when everything was released). */
  leaked: number;
}

/**
 * A training step through a backbone family, for its tests: a per-channel gain on the
 * prediction (the only trainable variable) learns to match a random target under an MSE
 * perceptual loss at `points`, with Adam; every tensor the run makes is released. A test asserts
 * that the loss falls, that `counts` is flat after the first step and that `leaked` is 0.
 */
export function perceptualTrainingSteps(extractor: FeatureExtractor, o: TrainingStepsOptions): TrainingStepsResult {
  const before = tf.memory().numTensors;
  const [h, w] = o.size ?? [40, 44];
  const loss = new PerceptualLoss({
    extractor,
    points: o.points,
    criterion: 'mse',
    reduction: 'mean',
    input: { range: '[0,1]', normalize: 'imagenet' },
    batchNorm: o.batchNorm,
    dropPathRandom: o.dropPathRandom,
  });
  const target = tf.randomUniform([2, h, w, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const init = tf.fill([1, 1, 1, 3], 0.3);
  const gain = tf.variable(init);
  const opt = tf.train.adam(0.05);
  const losses: number[] = [];
  const counts: number[] = [];
  try {
    for (let i = 0; i < (o.steps ?? 5); i++) {
      const cost = opt.minimize(() => loss.compute(tf.mul(target, gain) as tf.Tensor4D, target) as tf.Scalar, true, [gain])!;
      losses.push(cost.dataSync()[0]);
      cost.dispose();
      counts.push(tf.memory().numTensors);
    }
  } finally {
    tf.dispose([target, init, gain]);
    opt.dispose();
    loss.dispose();
  }
  return { losses, counts, leaked: tf.memory().numTensors - before };
}
