/**
 * Trains the autoencoder (docs/PROTOCOL.md section 6): Adam, seeded batches of the training 80%,
 * validation loss on the held-out 20% after every epoch, early stopping after `patience` epochs
 * without improvement, the best parameters checkpointed and restored at the end. Images are
 * read from disk batch by batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { splitTrainVal, trainLoop, type ParamStore, type ProgressReporter, type TrainResult } from '@dpl/core';
import type { AutoencoderConfig } from './config';
import { subset, type ImageSet } from './data/image-set';
import type { ReconstructionLoss } from './loss';
import { reconstruct, type AutoencoderShape } from './model';

export type AeBatch = {
  x: tf.Tensor4D;
  targets: tf.Tensor[];
};

export interface TrainAutoencoderOptions {
  cfg: AutoencoderConfig;
  store: ParamStore;
  shape: AutoencoderShape;
  images: ImageSet;
  loss: ReconstructionLoss;
  seed: number;
  checkpointPath: string;
  progress: ProgressReporter;
  signal?: AbortSignal;
}

export interface AeTrainSummary {
  trainImages: number;
  valImages: number;
  result: TrainResult;
  bestValLoss: number | null;
  seconds: number;
}

const toTensor = (set: ImageSet, indices: readonly number[]) => tf.tensor4d(set.read(indices), [indices.length, set.side, set.side, 3]);

/** Mean loss of the autoencoder (eval mode) over `set`, in batches. */
export async function meanLoss(
  store: ParamStore,
  shape: AutoencoderShape,
  loss: ReconstructionLoss,
  set: ImageSet,
  batchSize: number,
): Promise<number> {
  let sum = 0;
  for (let i = 0; i < set.count; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.count - i) }, (_, j) => i + j);
    const per = tf.tidy(() => {
      const x = toTensor(set, idx);
      return tf.sum(loss.perImage(reconstruct(store, x, false, shape), loss.targets(x)));
    });
    sum += (await per.data())[0];
    per.dispose();
  }
  return sum / set.count;
}

export async function trainAutoencoder(o: TrainAutoencoderOptions): Promise<AeTrainSummary> {
  const started = Date.now();
  const split = splitTrainVal(o.images.count, o.cfg.valFraction, o.seed);
  const train = subset(o.images, split.train, `${o.images.name} [train ${split.train.length}]`);
  const val = subset(o.images, split.val, `${o.images.name} [val ${split.val.length}]`);
  const result = await trainLoop<AeBatch>({
    store: o.store,
    numExamples: train.count,
    batchSize: Math.min(o.cfg.batchSize, train.count),
    seed: o.seed,
    epochs: o.cfg.epochs,
    adam: { lr: o.cfg.lr },
    makeBatch: (indices) => {
      const x = toTensor(train, indices);
      return { x, targets: o.loss.targets(x) };
    },
    loss: (b) => o.loss.loss(reconstruct(o.store, b.x, true, o.shape), b.targets),
    validate: () => meanLoss(o.store, o.shape, o.loss, val, o.cfg.evalBatchSize),
    validateEvery: { epochs: 1 },
    mode: 'min',
    patience: o.cfg.patience,
    checkpointPath: o.checkpointPath,
    checkpointConfig: { ...o.cfg },
    progress: o.progress,
    label: `autoencoder (${o.loss.describe().kind} loss)`,
    signal: o.signal,
    abortError: 'autoencoder training',
  });
  return {
    trainImages: train.count,
    valImages: val.count,
    result,
    bestValLoss: result.bestMetric,
    seconds: (Date.now() - started) / 1000,
  };
}
