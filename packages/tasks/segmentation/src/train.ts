/**
 * Training of the iterative U-Net (docs/PROTOCOL.md section 5): Adam, random crops + flips, the
 * BCE + mu * perceptual loss over kTrain refinement steps, validation BCE (last step, eval mode)
 * every `validateEvery` epochs, and the lowest-BCE parameters kept (checkpointed to scratch and
 * restored at the end) - all through core's trainLoop (progress with ETA, leak guard, abort).
 */
import * as tf from '@tensorflow/tfjs-core';
import { hashSeed, mulberry32, trainLoop, type ParamStore, type ProgressReporter, type TrainResult } from '@dpl/core';
import type { SegmentationConfig } from './config';
import type { RoadPair } from './data/layout';
import { TileReader, toTensors, trainCrop, type RoadSample } from './data/loader';
import { predict } from './evaluate';
import { iterativeLoss, maskFeatures, type PerceptualTerm } from './loss';
import { iterate, type UNetOptions } from './model';

export interface TrainArgs {
  store: ParamStore;
  cfg: SegmentationConfig;
  unet: UNetOptions;
  trainPairs: readonly RoadPair[];
  valSamples: readonly RoadSample[];
  /** The perceptual term; undefined when mu is 0. */
  term?: PerceptualTerm;
  seed: number;
  checkpointPath: string;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

export interface TrainSummary {
  steps: number;
  epochs: number;
  bestValBce: number | null;
  bestStep: number | null;
  stopReason: TrainResult['stopReason'];
  trainTiles: number;
  cachedTiles: number;
  seconds: number;
  /** Training loss per step and validation BCE per validation. */
  losses: number[];
  validations: { step: number; epoch: number; bce: number }[];
}

interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor4D;
  /** F(gt) per point ([] without a perceptual term). */
  f: tf.Tensor4D[];
  [key: string]: tf.Tensor | tf.Tensor[];
}

/** The seeded augmentation stream of one tile in one epoch (independent of batch composition). */
export const augmentRandom = (seed: number, epoch: number, tile: number): (() => number) =>
  mulberry32(hashSeed(seed, `aug/${epoch}/${tile}`));

export async function trainSegmentation(a: TrainArgs): Promise<TrainSummary> {
  const { cfg, store } = a;
  const reader = new TileReader(a.trainPairs, cfg.cacheMB * 1024 * 1024);
  const started = Date.now();

  const makeBatch = async (indices: number[], info: { epoch: number }): Promise<Batch> => {
    const samples: RoadSample[] = [];
    for (const i of indices) {
      const tile = await reader.get(i);
      samples.push(trainCrop(tile, cfg.cropSize, cfg.hflip, augmentRandom(a.seed, info.epoch, i), a.trainPairs[i].image));
    }
    const { x, y } = toTensors(samples);
    // F(gt) is a constant of the step: computed here, outside the gradient tape
    const f = a.term ? maskFeatures(y, a.term) : [];
    return { x, y, f };
  };

  const result = await trainLoop<Batch>({
    store,
    numExamples: a.trainPairs.length,
    batchSize: cfg.batchSize,
    seed: a.seed,
    epochs: cfg.epochs,
    maxSteps: cfg.maxSteps ?? undefined,
    makeBatch,
    adam: { lr: cfg.lr },
    loss: (b) =>
      iterativeLoss({ logits: iterate(store, b.x, cfg.kTrain, true, a.unet), gt: b.y, gtFeatures: b.f, mu: cfg.mu, term: a.term }),
    validate: async () => (await predict(store, a.valSamples, cfg.kTrain, cfg.evalBatchSize, a.unet)).bce[cfg.kTrain - 1],
    validateEvery: { epochs: cfg.validateEvery },
    mode: 'min',
    checkpointPath: a.checkpointPath,
    checkpointConfig: { ...cfg },
    progress: a.progress,
    label: 'segmentation: training',
    signal: a.signal,
    abortError: 'training',
  });
  return {
    steps: result.steps,
    epochs: result.epochs,
    bestValBce: result.bestMetric,
    bestStep: result.bestStep,
    stopReason: result.stopReason,
    trainTiles: a.trainPairs.length,
    cachedTiles: reader.cachedTiles,
    seconds: (Date.now() - started) / 1000,
    losses: result.history.steps.map((s) => s.loss),
    validations: result.history.validations.map((v) => ({ step: v.step, epoch: v.epoch, bce: v.metric })),
  };
}
