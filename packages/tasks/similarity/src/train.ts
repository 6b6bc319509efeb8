/**
 * Training of the lin / tune / scratch variants on the 2AFC train splits, as LPIPS' train.py:
 * per triplet the distances d0 = d(ref, p0), d1 = d(ref, p1) with dropout before the channel
 * weighting, the ranking head on (d0, d1), BCE against the judge; Adam, a constant then linearly
 * decaying learning rate per epoch, channel weights clamped to >= 0 after every step.
 *
 * lin: the network is frozen, so the features (and, per step, the dropped-out spatial means of the
 * squared differences: [N, C] per point) are computed outside the gradient tape in chunks of
 * evalBatchSize; the optimiser step then works on those small vectors. This is exactly LPIPS'
 * computation because the channel weighting and the spatial mean are both linear.
 * tune / scratch: the gradient reaches the network, so each step runs the batch in micro-batches
 * of evalBatchSize and sums their gradients (each scaled by its share of the batch) before one
 * update; with BatchNorm in 'train' mode the batch statistics are then per micro-batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bappsBatches, type BappsItem, type SkippedItem } from './bapps/loader';
import type { SimilarityConfig } from './config';
import {
  adam,
  clampNonNegative,
  constantThenLinearDecay,
  hashSeed,
  inputError,
  nn,
  trainLoop,
  type ParamStore,
  type PerceptualDistance,
  type ProgressReporter,
  type StepInfo,
  type TrainResult,
} from '@dpl/core';
import { bceWithLogits, linDistance, linVariables, rankingLogits } from './model';

export interface TrainOptions {
  cfg: SimilarityConfig;
  store: ParamStore;
  /** Distance whose features() feed training: the frozen loss network (lin) or the trainable one (tune / scratch). */
  features: PerceptualDistance;
  /** Whether gradients must reach the network (tune / scratch). */
  trainNetwork: boolean;
  points: string[];
  items: BappsItem[];
  seed: number;
  progress: ProgressReporter;
  signal?: AbortSignal;
}

export interface TrainSummary {
  result: TrainResult;
  triplets: number;
  skipped: SkippedItem[];
  seconds: number;
  finalLoss: number | null;
}

/**
 * Per point, the spatial mean of dropout(squared difference of normalised features) [N, C]
 * between the reference and each of p0, p1. Differentiable (used inside the tape for tune).
 */
function channelVectors(
  pd: PerceptualDistance,
  points: string[],
  ref: tf.Tensor4D,
  p0: tf.Tensor4D,
  p1: tf.Tensor4D,
  rate: number,
  seedOf: (point: string, side: number) => number,
): { v0: tf.Tensor2D[]; v1: tf.Tensor2D[] } {
  const fr = pd.features(ref);
  const f0 = pd.features(p0);
  const f1 = pd.features(p1);
  const vec = (a: tf.Tensor4D, b: tf.Tensor4D, p: string, side: number) =>
    tf.mean(nn.dropout(tf.squaredDifference(a, b), rate, true, seedOf(p, side)), [1, 2]) as tf.Tensor2D;
  return {
    v0: points.map((p) => vec(fr.get(p)!, f0.get(p)!, p, 0)),
    v1: points.map((p) => vec(fr.get(p)!, f1.get(p)!, p, 1)),
  };
}

type ImageBatch = {
  ref: tf.Tensor4D;
  p0: tf.Tensor4D;
  p1: tf.Tensor4D;
  judge: tf.Tensor1D;
};

type VectorBatch = {
  v0: tf.Tensor2D[];
  v1: tf.Tensor2D[];
  judge: tf.Tensor1D;
};

export async function trainSimilarity(o: TrainOptions): Promise<TrainSummary> {
  const { cfg, store, points } = o;
  const start = Date.now();
  const skipped: SkippedItem[] = [];
  const size = cfg.imageSize;
  const linVars = linVariables(store, points);
  const totalEpochs = cfg.epochs + cfg.decayEpochs;
  const schedule = cfg.decayEpochs > 0 ? constantThenLinearDecay(cfg.lr, cfg.epochs, cfg.decayEpochs) : () => cfg.lr;
  const optimizer = adam({ lr: cfg.lr, betas: cfg.betas });
  const seedOf = (info: StepInfo, chunk: number) => (p: string, side: number) =>
    hashSeed(o.seed, `dropout/${info.step}/${chunk}/${p}/${side}`);
  const lossOf = (v0: tf.Tensor2D[], v1: tf.Tensor2D[], judge: tf.Tensor1D) =>
    bceWithLogits(rankingLogits(store, linDistance(store, points, v0), linDistance(store, points, v1), cfg.rankHidden), judge);

  /** Reads the triplets of one step in chunks of evalBatchSize; `each` turns a chunk into tensors. */
  async function readStep<T>(
    indices: number[],
    info: StepInfo,
    each: (images: Record<string, Float32Array>, n: number, chunk: number) => T,
  ): Promise<{ parts: T[]; judge: number[] }> {
    const parts: T[] = [];
    const judge: number[] = [];
    let chunk = 0;
    for await (const b of bappsBatches(
      indices.map((i) => o.items[i]),
      { batchSize: cfg.evalBatchSize, size, onBadItem: cfg.badImages },
    )) {
      skipped.push(...b.skipped);
      for (const s of b.skipped) o.progress.log(`skipped ${s.split}/${s.id}: ${s.reason.split('\n')[0]}`);
      if (b.items.length) {
        parts.push(each(b.images, b.items.length, chunk++));
        judge.push(...b.labels);
      }
    }
    if (!judge.length)
      throw inputError(
        `training batch ${info.batchIndex + 1} of epoch ${info.epoch + 1}`,
        'has no readable triplet',
        'check the skipped files listed above',
      );
    return { parts, judge };
  }

  const t4 = (a: Float32Array, n: number) => tf.tensor4d(a, [n, size, size, 3]);
  const common = {
    store,
    numExamples: o.items.length,
    batchSize: cfg.batchSize,
    seed: o.seed,
    epochs: totalEpochs,
    optimizer,
    lrSchedule: schedule,
    progress: o.progress,
    label: `similarity: training ${cfg.variant}`,
    signal: o.signal,
    abortError: 'training',
  };
  let result: TrainResult;
  try {
    if (!o.trainNetwork) {
      result = await trainLoop<VectorBatch>({
        ...common,
        makeBatch: async (indices, info) => {
          const { parts, judge } = await readStep(indices, info, (images, n, chunk) =>
            tf.tidy(() => {
              const { v0, v1 } = channelVectors(
                o.features,
                points,
                t4(images.ref, n),
                t4(images.p0, n),
                t4(images.p1, n),
                cfg.dropout,
                seedOf(info, chunk),
              );
              return [...v0, ...v1];
            }),
          );
          const k = points.length;
          const cat = (side: number) =>
            points.map(
              (_, i) => (parts.length === 1 ? parts[0][side * k + i] : tf.concat(parts.map((pt) => pt[side * k + i]))) as tf.Tensor2D,
            );
          const batch = { v0: cat(0), v1: cat(1), judge: tf.tensor1d(judge) };
          if (parts.length > 1) tf.dispose(parts.flat());
          return batch;
        },
        loss: (b) => lossOf(b.v0, b.v1, b.judge),
        afterUpdate: () => clampNonNegative(linVars),
      });
    } else {
      const vars = store.trainableVariables();
      result = await trainLoop<ImageBatch>({
        ...common,
        makeBatch: async (indices, info) => {
          const { parts, judge } = await readStep(indices, info, (images) => images);
          const n = judge.length;
          const cat = (f: string) => {
            const a = new Float32Array(n * size * size * 3);
            let at = 0;
            for (const pt of parts) {
              a.set(pt[f], at);
              at += pt[f].length;
            }
            return t4(a, n);
          };
          return { ref: cat('ref'), p0: cat('p0'), p1: cat('p1'), judge: tf.tensor1d(judge) };
        },
        update: (b, info) => {
          const n = b.judge.shape[0];
          let acc: tf.NamedTensorMap | null = null;
          let loss = 0;
          for (let s = 0, chunk = 0; s < n; s += cfg.evalBatchSize, chunk++) {
            const m = Math.min(cfg.evalBatchSize, n - s);
            const sl = (t: tf.Tensor4D) => tf.slice(t, [s, 0, 0, 0], [m, -1, -1, -1]) as tf.Tensor4D;
            const { value, grads } = optimizer.computeGradients(() => {
              const { v0, v1 } = channelVectors(o.features, points, sl(b.ref), sl(b.p0), sl(b.p1), cfg.dropout, seedOf(info, chunk));
              return tf.mul(lossOf(v0, v1, tf.slice(b.judge, [s], [m])), m / n) as tf.Scalar;
            }, vars);
            loss += value.dataSync()[0];
            value.dispose();
            if (!acc) acc = grads;
            else {
              for (const k of Object.keys(grads)) {
                const sum = tf.add(acc[k], grads[k]);
                tf.dispose([acc[k], grads[k]]);
                acc[k] = sum;
              }
            }
          }
          optimizer.applyGradients(acc! as Parameters<typeof optimizer.applyGradients>[0]);
          tf.dispose(Object.values(acc!));
          clampNonNegative(linVars);
          return loss;
        },
      });
    }
  } finally {
    optimizer.dispose();
  }
  const steps = result.history.steps;
  return {
    result,
    triplets: o.items.length,
    skipped,
    seconds: (Date.now() - start) / 1000,
    finalLoss: steps.length ? steps[steps.length - 1].loss : null,
  };
}
