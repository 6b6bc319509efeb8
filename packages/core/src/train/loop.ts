/**
 * The training loop shared by the task plugins: seeded epochs of batches, one optimiser update
 * per batch, periodic validation with best-checkpoint selection and early stopping, progress with
 * an ETA, clean cancellation, and a tensor-leak guard.
 *
 * Two ways to update:
 *  - `loss(batch) => tf.Scalar`: the loop computes the gradients of the loss w.r.t. the store's
 *    trainable variables and applies them with `optimizer` (Adam with the study's defaults if
 *    none): what optimizer.minimize does, plus two checks that minimize skips silently (a
 *    parameter created during the step, a parameter the loss does not reach);
 *  - `update(batch) => loss value`: the caller does its own update (several optimisers,
 *    gradient accumulation, ...) and returns the loss as a number.
 * The loop disposes every tensor of the batch after the step.
 *
 * Leak guard: tf.memory().numTensors is read before the batch is made and after it is disposed;
 * after `warmupSteps` steps (the first step creates the optimiser's slot variables) any growth
 * throws a DplError, 'tensor leak: N tensors per step'. Over 200k steps a one-tensor leak is
 * an out-of-memory crash hours in, so it fails at step 2 instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';
import type { ProgressReporter } from '../contracts/task';
import { DplError, configError } from '../errors';
import { batchesPerEpoch, epochBatches } from './data-order';
import { adam, setLearningRate, type AdamOptions } from './optim';
import type { ParamSnapshot, ParamStore } from './params';

/** Where a training step is: its number, epoch and batch within the epoch. */
export interface StepInfo {
  /** 1-based number of this step. */
  step: number;
  /** 0-based epoch. */
  epoch: number;
  /** 0-based batch within the epoch. */
  batchIndex: number;
}

/** Options of trainLoop: the step, data, schedule, validation, checkpoints and progress. */
export interface TrainLoopOptions<B extends tf.TensorContainer> {
  store: ParamStore;
  /** Training examples 0..numExamples-1, shuffled per epoch from `seed`. */
  numExamples: number;
  batchSize: number;
  seed: number;
  /** Builds the batch of the given examples; the loop disposes its tensors after the step. */
  makeBatch: (indices: number[], info: StepInfo) => B | Promise<B>;
  /** Drop a last, smaller batch. Default false (PyTorch DataLoader's default). */
  dropLast?: boolean;
  /** At least one of epochs / maxSteps; training stops at whichever comes first. */
  epochs?: number;
  maxSteps?: number;

  /** The loss of a batch (the loop updates the store's trainable variables). */
  loss?: (batch: B, info: StepInfo) => tf.Scalar;
  /** For `loss`: default the loop's own adam(`adam`), disposed at the end. */
  optimizer?: tf.Optimizer;
  /** Settings of the loop's own Adam (no `optimizer` given): default lr 1e-3, betas (0.9, 0.999), eps 1e-8. */
  adam?: AdamOptions;
  /** For `loss`: runs after each update, e.g. () => clampNonNegative(linWeights). */
  afterUpdate?: (info: StepInfo) => void;
  /** Alternatively: the caller's own update; returns the loss value. */
  update?: (batch: B, info: StepInfo) => number | Promise<number>;
  /** Learning rate per epoch (0-based), set on `optimizer` at the start of each epoch. */
  lrSchedule?: (epoch: number) => number;

  /** A validation metric of the current parameters. */
  validate?: (info: { step: number; epoch: number }) => number | Promise<number>;
  /** Default { epochs: 1 }. A final validation runs after the last step if it had none. */
  validateEvery?: { epochs: number } | { steps: number };
  /** Whether a lower ('min', default) or higher ('max') metric is better. */
  mode?: 'min' | 'max';
  /** Improvement needed to count as better. Default 0. */
  minDelta?: number;
  /** Stop after this many validations without improvement. Default: never. */
  patience?: number;
  /** Where the best parameters are saved (ParamStore.save); else they are kept in memory. */
  checkpointPath?: string;
  /** Stored in the checkpoint's sidecar. */
  checkpointConfig?: Record<string, unknown>;
  /** Put the best parameters back into the store at the end. Default true. */
  restoreBest?: boolean;

  progress?: ProgressReporter;
  /** Progress label. Default 'train'. */
  label?: string;
  /** Aborting stops before the next step; the loop returns normally (stopReason 'aborted'), or throws with abortError. */
  signal?: AbortSignal;
  /** When aborted, throw DplError E_ABORTED '<abortError> was interrupted after N steps' instead of returning. */
  abortError?: string;
  /** Default true. */
  tensorGuard?: boolean;
  /** Steps exempt from the leak guard. Default 1. */
  warmupSteps?: number;
}

/** One recorded training step: step, epoch, loss and the tensor count after it. */
export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  /** tf.memory().numTensors after the step. */
  numTensors: number;
}

/** One validation of a training run: when, its metric, and whether it set a new best. */
export interface ValidationRecord {
  step: number;
  epoch: number;
  metric: number;
  /** Whether this validation set a new best. */
  improved: boolean;
}

/** How a training run ended: steps, epochs, the best validation and why it stopped, with its history. */
export interface TrainResult {
  steps: number;
  /** Completed epochs. */
  epochs: number;
  bestMetric: number | null;
  bestStep: number | null;
  stopReason: 'completed' | 'early-stopped' | 'aborted';
  /** Whether the store now holds the best parameters (restored, or the last ones were best). */
  restoredBest: boolean;
  history: { steps: StepRecord[]; validations: ValidationRecord[] };
}

const isPosInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;

function checkOptions<B extends tf.TensorContainer>(o: TrainLoopOptions<B>): void {
  const bad = (key: string, problem: string, hint?: string) => configError(`trainLoop ${key}`, problem, hint);
  if (!isPosInt(o.numExamples)) throw bad('numExamples', `must be a positive integer, got ${o.numExamples}`);
  if (!isPosInt(o.batchSize)) throw bad('batchSize', `must be a positive integer, got ${o.batchSize}`);
  if (!Number.isInteger(o.seed)) throw bad('seed', `must be an integer, got ${o.seed}`);
  if (o.epochs === undefined && o.maxSteps === undefined) throw bad('epochs', 'and maxSteps are both missing', 'give at least one');
  if (o.epochs !== undefined && !isPosInt(o.epochs)) throw bad('epochs', `must be a positive integer, got ${o.epochs}`);
  if (o.maxSteps !== undefined && !isPosInt(o.maxSteps)) throw bad('maxSteps', `must be a positive integer, got ${o.maxSteps}`);
  if (!o.loss === !o.update)
    throw bad(
      'loss',
      o.loss ? 'and update are both given' : 'or update is required',
      'give loss (the loop updates) or update (you update)',
    );
  if (o.update && o.afterUpdate) throw bad('afterUpdate', 'only applies to loss; with update, do it inside update');
  if (o.update && o.lrSchedule && !o.optimizer) throw bad('lrSchedule', 'needs the optimizer when update is given');
  if (o.adam && (o.optimizer || o.update))
    throw bad('adam', "only applies to the loop's own optimizer", 'give adam or optimizer, with loss');
  if (o.patience !== undefined && !isPosInt(o.patience)) throw bad('patience', `must be a positive integer, got ${o.patience}`);
  if ((o.patience !== undefined || o.checkpointPath) && !o.validate) throw bad('validate', 'is required for patience / checkpointPath');
  const every = o.validateEvery;
  if (every && !('epochs' in every ? isPosInt(every.epochs) : isPosInt(every.steps))) {
    throw bad('validateEvery', `must be { epochs: n } or { steps: n } with n >= 1, got ${JSON.stringify(every)}`);
  }
  if (o.warmupSteps !== undefined && !(Number.isInteger(o.warmupSteps) && o.warmupSteps >= 0)) {
    throw bad('warmupSteps', `must be an integer >= 0, got ${o.warmupSteps}`);
  }
  if (batchesPerEpoch(o.numExamples, o.batchSize, o.dropLast) === 0) {
    throw bad('batchSize', `${o.batchSize} with dropLast leaves no batch of ${o.numExamples} examples`);
  }
}

/** One update through the optimizer (optimizer.minimize's two halves, with checks between). */
async function minimizeStep<B extends tf.TensorContainer>(
  o: TrainLoopOptions<B>,
  opt: tf.Optimizer,
  vars: tf.Variable[],
  batch: B,
  info: StepInfo,
): Promise<number> {
  const sizeBefore = o.store.size;
  const { value, grads } = opt.computeGradients(() => o.loss!(batch, info), vars);
  try {
    if (o.store.size !== sizeBefore) {
      const created = o.store.names().slice(sizeBefore);
      throw configError(
        'trainLoop loss',
        `created parameters during step ${info.step} (${created.join(', ')}); they would not be trained`,
        'create all parameters before training: store.build(() => model(sampleBatch, false))',
      );
    }
    const missing = vars.filter((v) => grads[v.name] == null).map((v) => o.store.nameOf(v) ?? v.name);
    if (missing.length > 0) {
      throw configError(
        'trainLoop loss',
        `does not depend on parameter(s) ${missing.join(', ')}`,
        'use every trainable parameter in the loss, or train with update (your own optimizer step)',
      );
    }
    opt.applyGradients(grads);
    o.afterUpdate?.(info);
    return (await value.data())[0];
  } finally {
    tf.dispose(grads);
    value.dispose();
  }
}

const fmtEta = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${(s / 60).toFixed(1)}m` : `${Math.round(s)}s`);

/** Runs the training described by `o` (see the file header). */
export async function trainLoop<B extends tf.TensorContainer>(o: TrainLoopOptions<B>): Promise<TrainResult> {
  checkOptions(o);
  const vars = o.store.trainableVariables();
  if (o.loss && vars.length === 0) {
    throw configError(
      'trainLoop store',
      'has no trainable parameters yet',
      'create them first: store.build(() => model(sampleBatch, false))',
    );
  }
  const ownOptimizer = o.loss !== undefined && o.optimizer === undefined;
  const opt = o.optimizer ?? (o.loss ? adam(o.adam) : undefined);
  const mode = o.mode ?? 'min';
  const minDelta = o.minDelta ?? 0;
  const every = o.validateEvery ?? { epochs: 1 };
  const guard = o.tensorGuard ?? true;
  const warmup = o.warmupSteps ?? 1;
  const restoreBest = o.restoreBest ?? true;
  const perEpoch = batchesPerEpoch(o.numExamples, o.batchSize, o.dropLast);
  const epochs = o.epochs ?? Math.ceil(o.maxSteps! / perEpoch);
  const total = Math.min(o.maxSteps ?? Infinity, epochs * perEpoch);

  const history: TrainResult['history'] = { steps: [], validations: [] };
  let step = 0;
  let epochsDone = 0;
  let epochNow = 0;
  let best: number | null = null;
  let bestStep: number | null = null;
  let bestSnapshot: ParamSnapshot | null = null;
  let sinceBest = 0;
  let lastValidated = 0;
  let stopReason: TrainResult['stopReason'] = 'completed';
  const start = Date.now();

  const better = (m: number) => best === null || (mode === 'min' ? m < best - minDelta : m > best + minDelta);

  /** Returns true when early stopping triggers. */
  const runValidation = async (epoch: number): Promise<boolean> => {
    const metric = await o.validate!({ step, epoch });
    lastValidated = step;
    const improved = Number.isFinite(metric) && better(metric);
    history.validations.push({ step, epoch, metric, improved });
    if (improved) {
      best = metric;
      bestStep = step;
      sinceBest = 0;
      if (o.checkpointPath) await o.store.save(o.checkpointPath, { step, metric, config: o.checkpointConfig });
      else if (restoreBest) bestSnapshot = await o.store.snapshot();
    } else {
      sinceBest++;
    }
    o.progress?.log(
      `${o.label ?? 'train'}: step ${step} epoch ${epoch + 1} validation ${metric}${improved ? ' (best)' : ` (best ${best} at step ${bestStep})`}`,
    );
    return o.patience !== undefined && sinceBest >= o.patience;
  };

  o.progress?.start(o.label ?? 'train', total);
  try {
    outer: for (let epoch = 0; epoch < epochs && step < total; epoch++) {
      epochNow = epoch;
      if (o.lrSchedule) setLearningRate(opt!, o.lrSchedule(epoch));
      const batches = epochBatches(o.numExamples, o.batchSize, o.seed, epoch, o.dropLast);
      for (let bi = 0; bi < batches.length; bi++) {
        if (o.signal?.aborted) {
          stopReason = 'aborted';
          break outer;
        }
        if (step >= total) break outer;
        step++;
        const info: StepInfo = { step, epoch, batchIndex: bi };
        const before = tf.memory().numTensors;
        const batch = await o.makeBatch(batches[bi], info);
        let loss: number;
        try {
          loss = o.loss ? await minimizeStep(o, opt!, vars, batch, info) : await o.update!(batch, info);
        } finally {
          tf.dispose(batch);
        }
        const after = tf.memory().numTensors;
        if (guard && step > warmup && after > before) {
          throw new DplError(
            'E_TENSOR_LEAK',
            `tensor leak: ${after - before} tensors per step (step ${step}: ${before} tensors before, ${after} after)`,
            'wrap the step in tf.tidy and dispose tensors created outside it (makeBatch, update, afterUpdate)',
          );
        }
        if (!Number.isFinite(loss)) {
          throw new DplError(
            'E_DIVERGED',
            `training loss is ${loss} at step ${step} (epoch ${epoch + 1})`,
            'lower the learning rate or check the inputs',
          );
        }
        history.steps.push({ step, epoch, loss, numTensors: after });
        const eta = ((Date.now() - start) / 1000 / step) * (total - step);
        o.progress?.tick(1, { loss: Number(loss.toPrecision(5)), eta: fmtEta(eta) });
        if (o.validate && 'steps' in every && step % every.steps === 0 && (await runValidation(epoch))) {
          stopReason = 'early-stopped';
          break outer;
        }
      }
      epochsDone = epoch + 1;
      if (o.validate && 'epochs' in every && epochsDone % every.epochs === 0 && (await runValidation(epoch))) {
        stopReason = 'early-stopped';
        break;
      }
    }
    if (stopReason === 'aborted' && o.abortError !== undefined)
      throw new DplError('E_ABORTED', `${o.abortError} was interrupted after ${step} steps`);
    if (o.validate && stopReason === 'completed' && step > lastValidated) await runValidation(epochNow);

    let restoredBest = best !== null && bestStep === step;
    if (restoreBest && best !== null && bestStep !== step) {
      if (o.checkpointPath) await o.store.load(o.checkpointPath);
      else o.store.restore(bestSnapshot!);
      restoredBest = true;
      o.progress?.log(`${o.label ?? 'train'}: restored the best parameters (step ${bestStep}, validation ${best})`);
    }
    return { steps: step, epochs: epochsDone, bestMetric: best, bestStep, stopReason, restoredBest, history };
  } finally {
    o.progress?.done();
    if (ownOptimizer) opt?.dispose();
  }
}
