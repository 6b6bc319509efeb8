/**
 * Optimiser settings of the study, on top of tfjs' own Adam (tf.train.adam: the update is
 * PyTorch's Adam, m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps)).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';
import { configError } from '../errors';

/** Adam's hyper-parameters (PyTorch's names and defaults). */
export interface AdamOptions {
  /** Default 1e-3 (every benchmark). */
  lr?: number;
  /** Default [0.9, 0.999]; LPIPS' ranking head uses [0.5, 0.999] (ADAM_BETAS_LPIPS). */
  betas?: [number, number];
  /** Default 1e-8 (PyTorch's; tfjs would otherwise take the backend's float epsilon). */
  eps?: number;
}

/** The Adam betas LPIPS trains its linear layers with. */
export const ADAM_BETAS_LPIPS: [number, number] = [0.5, 0.999];

/** tf.train.adam with PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8). */
export function adam(o: AdamOptions = {}): tf.AdamOptimizer {
  const lr = o.lr ?? 1e-3;
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  const eps = o.eps ?? 1e-8;
  if (!(lr >= 0) || !(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1) || !(eps > 0)) {
    throw configError('adam', `invalid settings lr ${lr}, betas [${b1}, ${b2}], eps ${eps}`, 'use lr >= 0, betas in [0, 1), eps > 0');
  }
  return tf.train.adam(lr, b1, b2, eps);
}

/** The optimiser's current learning rate (tfjs keeps it in a protected field read at each step). */
export function getLearningRate(opt: tf.Optimizer): number {
  const lr = (opt as unknown as { learningRate?: unknown }).learningRate;
  if (typeof lr !== 'number')
    throw configError('optimizer', `${opt.getClassName()} has no numeric learning rate`, 'use tf.train.adam / sgd / momentum');
  return lr;
}

/** Sets the learning rate of a tfjs optimizer in place (its slots, e.g. Adam's moments, are kept). */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  getLearningRate(opt);
  if (!(lr >= 0)) throw configError('learning rate', `must be >= 0, got ${lr}`);
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

/**
 * Learning rate of epoch `epoch` (0-based): `lr` for `constantEpochs` epochs, then linear decay
 * over `decayEpochs` epochs, as LPIPS' train.py does it (after each epoch past the constant ones
 * the rate drops by lr/decayEpochs): with 5 + 5, epochs 0-5 use lr, epochs 6..9 use 0.8, 0.6,
 * 0.4, 0.2 x lr, and any later epoch 0.
 */
export function constantThenLinearDecay(lr: number, constantEpochs: number, decayEpochs: number): (epoch: number) => number {
  if (!(lr >= 0) || !Number.isInteger(constantEpochs) || constantEpochs < 0 || !Number.isInteger(decayEpochs) || decayEpochs < 1) {
    throw configError(
      'learning-rate schedule',
      `needs lr >= 0 and integer epochs (constant >= 0, decay >= 1), got ${lr}, ${constantEpochs}, ${decayEpochs}`,
    );
  }
  return (epoch: number) => lr * Math.max(0, Math.min(1, (constantEpochs + decayEpochs - epoch) / decayEpochs));
}

/** Clamps each variable to >= 0 in place (LPIPS' channel weights, after every step). */
export function clampNonNegative(vars: readonly tf.Variable[]): void {
  for (const v of vars) tf.tidy(() => v.assign(tf.relu(v)));
}
