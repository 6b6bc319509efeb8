/**
 * The segmentation task (docs/PROTOCOL.md section 5, after Mosinska et al. 2018, "Beyond the
 * pixel-wise loss for topology-aware delineation"): road delineation on Massachusetts Roads with
 * an iterative U-Net trained on BCE + mu * the loss network's feature MSE of the predicted and
 * true masks.
 *  - trains on `train` (random crops + flips), keeps the parameters with the lowest BCE on `valid`;
 *  - scores the `scoreSplit` split: 'val' as the study's test script did (the split that also
 *    selected the model), 'test' in the corrected protocol (docs/PROTOCOL.md, "Deviations"):
 *    completeness, correctness and quality per image at prediction threshold 0.3 / ground truth
 *    0.5, averaged, then combined over the K steps per `metricAccumulation`; quality is the
 *    headline (higher is better). The trivial predictors' quality (all background, all road) and
 *    the last step's scores are reported beside it.
 * Without a data root the task writes a synthetic road dataset into its scratch directory: the
 * offline demo, whose numbers say nothing about real delineation quality.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import {
  backendName,
  configError,
  hashSeed,
  mulberry32,
  ParamStore,
  writePng,
  defineTask,
  type TaskContext,
  type TaskResult,
} from '@dpl/core';
import { CONFIG, type SegmentationConfig } from './config';
import { openRoadSplit, type RoadPair, type RoadSplit } from './data/layout';
import { loadEvalSamples, type RoadSample } from './data/loader';
import { generateSyntheticRoads } from './data/synthetic';
import { officialAccumulation, predict, roadFraction, scoreMaps, trivialScores } from './evaluate';
import type { PerceptualTerm } from './loss';
import { iterate, type UNetOptions } from './model';
import { trainSegmentation, type TrainSummary } from './train';

export const SEGMENTATION_TASK_ID = 'segmentation';

/** The seed of the synthetic stand-in: fixed, so every network of a suite sees the same data. */
export const SYNTHETIC_SEED = 2018;

export const CHECKPOINT_FILE = 'segmentation-unet.safetensors';

/** The data to use: the given root, or the synthetic stand-in written to scratch. */
async function dataRoot(ctx: TaskContext, cfg: SegmentationConfig): Promise<{ root: string; synthetic: boolean }> {
  if (ctx.dataRoot) return { root: path.resolve(ctx.dataRoot), synthetic: false };
  const root = path.join(ctx.scratchDir, 'synthetic-roads');
  ctx.progress.log(
    `no data root given: using a synthetic road dataset written to ${root} (its numbers say nothing about real delineation quality; pass the Massachusetts Roads folder as the data root for the benchmark)`,
  );
  await generateSyntheticRoads(root, {
    seed: SYNTHETIC_SEED,
    size: cfg.syntheticSize,
    counts: { train: cfg.syntheticTrain, valid: cfg.syntheticValid, test: cfg.syntheticTest },
  });
  return { root, synthetic: true };
}

const limit = (pairs: RoadPair[], max: number | null) => (max === null ? pairs : pairs.slice(0, max));

/** Every point must give a non-empty feature map at the sizes the loss network will see. */
function checkPoints(ctx: TaskContext, cfg: SegmentationConfig): void {
  if (cfg.mu === 0) return;
  if (ctx.points.length === 0)
    throw configError('extraction points', 'are empty', 'give at least one point (or set mu to 0 for BCE alone)');
  const smallest = Math.min(cfg.cropSize, cfg.imageSize);
  for (const name of ctx.points) {
    const p = ctx.lossNetwork.backbone.point(name);
    if (p.minInputSize > smallest) {
      throw configError(
        `point '${name}' of ${ctx.lossNetwork.backbone.id}`,
        `needs inputs of at least ${p.minInputSize}x${p.minInputSize}, but masks are ${smallest}x${smallest}`,
        `raise cropSize and imageSize to ${Math.ceil(p.minInputSize / 16) * 16} or more, or choose an earlier point`,
      );
    }
  }
}

/** Writes image | ground truth | prediction side by side for the first `n` test tiles. */
async function writeSamples(
  dir: string,
  names: string[],
  samples: readonly RoadSample[],
  probs: readonly Float32Array[],
  n: number,
): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < Math.min(n, samples.length); i++) {
    const s = samples[i].size;
    const data = new Float32Array(3 * s * s * 3);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const src = y * s + x;
        const row = y * 3 * s;
        for (let c = 0; c < 3; c++) {
          data[3 * (row + x) + c] = samples[i].rgb[3 * src + c];
          data[3 * (row + s + x) + c] = samples[i].mask[src];
          data[3 * (row + 2 * s + x) + c] = probs[i][src];
        }
      }
    }
    const file = path.join(dir, `test-${names[i]}.png`);
    await writePng(file, { width: 3 * s, height: s, data });
    files.push(file);
  }
  return files;
}

async function loadSplit(
  split: RoadSplit,
  max: number | null,
  cfg: SegmentationConfig,
  ctx: TaskContext,
): Promise<{ names: string[]; samples: RoadSample[] }> {
  const pairs = limit(split.pairs, max);
  ctx.progress.start(`segmentation: reading ${split.split}`, pairs.length);
  try {
    return await loadEvalSamples(pairs, cfg.imageSize, () => ctx.progress.tick(), cfg.evalResize);
  } finally {
    ctx.progress.done();
  }
}

async function runSegmentation(ctx: TaskContext<SegmentationConfig>): Promise<TaskResult> {
  const cfg = ctx.config;
  checkPoints(ctx, cfg);
  const started = Date.now();
  const data = await dataRoot(ctx, cfg);
  const train = cfg.checkpoint === null ? openRoadSplit(data.root, 'train') : null;
  const valid = cfg.checkpoint === null || cfg.scoreSplit === 'val' ? openRoadSplit(data.root, 'valid') : null;
  const test = cfg.scoreSplit === 'test' ? openRoadSplit(data.root, 'test') : null;
  const trainPairs = train ? limit(train.pairs, cfg.maxTrainImages) : [];
  const val = valid ? await loadSplit(valid, cfg.maxValImages, cfg, ctx) : null;
  // the scored split: the study's code scored the validation tiles (docs/PROTOCOL.md, "Deviations")
  const tst = test ? await loadSplit(test, cfg.maxTestImages, cfg, ctx) : val!;
  const scoredSplit = cfg.scoreSplit === 'test' ? 'test' : 'valid';

  const unet: UNetOptions = { widths: cfg.widths, downSlope: cfg.downSlope, upSlope: cfg.upSlope };
  // train mode: EfficientNet's stochastic depth draws from a stream seeded by the run seed
  const term: PerceptualTerm | undefined =
    cfg.mu > 0
      ? {
          net: ctx.lossNetwork,
          points: ctx.points,
          mode: cfg.lossNetworkMode,
          dropPathRandom: cfg.lossNetworkMode === 'train' ? mulberry32(hashSeed(ctx.seed, 'segmentation/drop-path')) : undefined,
        }
      : undefined;
  const store = new ParamStore(ctx.seed);
  const files: Record<string, unknown> = {};
  try {
    // create every parameter before training (eval mode: no BatchNorm statistics move)
    store.build(() => iterate(store, tf.zeros([1, cfg.cropSize, cfg.cropSize, 3]), 1, false, unet));
    let training: TrainSummary | null = null;
    if (cfg.checkpoint !== null) {
      await store.load(cfg.checkpoint);
      files.checkpoint = path.resolve(cfg.checkpoint);
    } else {
      const checkpointPath = path.join(ctx.scratchDir, CHECKPOINT_FILE);
      training = await trainSegmentation({
        store,
        cfg,
        unet,
        trainPairs,
        valSamples: val!.samples,
        term,
        seed: ctx.seed,
        checkpointPath,
        progress: ctx.progress,
        signal: ctx.signal,
      });
      files.checkpoint = checkpointPath;
    }

    ctx.progress.start(scoredSplit === 'test' ? 'segmentation: test' : 'segmentation: scoring valid', tst.samples.length);
    let done = 0;
    const unetMode = cfg.unetTestBatchNorm === 'batch' ? 'batch' : false;
    const pred = await predict(
      store,
      tst.samples,
      cfg.kTest,
      cfg.evalBatchSize,
      unet,
      (n) => {
        ctx.progress.tick(n - done);
        done = n;
      },
      unetMode,
    );
    ctx.progress.done();
    const opts = { threshold: cfg.threshold, gtThreshold: cfg.gtThreshold };
    const last = pred.probs[cfg.kTest - 1];
    const lastScores = scoreMaps(last, tst.samples, opts);
    const perStep = pred.probs.map((p, i) => ({ step: i + 1, ...strip(scoreMaps(p, tst.samples, opts)), bce: pred.bce[i] }));
    const scores = cfg.metricAccumulation === 'official' ? officialAccumulation(perStep) : strip(lastScores);
    const trivial = trivialScores(tst.samples, opts);
    if (cfg.samples > 0)
      files.samples = await writeSamples(path.join(ctx.scratchDir, 'samples'), tst.names, tst.samples, last, cfg.samples);

    const metrics: Record<string, number> = {
      quality: scores.quality,
      completeness: scores.completeness,
      correctness: scores.correctness,
      quality_all_background: trivial.allBackground.quality,
      quality_all_road: trivial.allRoad.quality,
      quality_last_step: lastScores.quality,
      [`${scoredSplit === 'test' ? 'test' : 'scored'}_bce`]: pred.bce[cfg.kTest - 1],
    };
    if (training?.bestValBce != null) metrics.val_bce = training.bestValBce;
    const splits: Record<string, Record<string, number>> = {};
    if (training?.bestValBce != null) splits.valid = { bce: training.bestValBce, tiles: val!.samples.length };
    splits[scoredSplit] = {
      ...splits[scoredSplit],
      quality: scores.quality,
      completeness: scores.completeness,
      correctness: scores.correctness,
      // on 'valid' the split's `bce` is the model-selection BCE (K = kTrain); this one is at K = kTest
      [scoredSplit === 'test' ? 'bce' : 'scored_bce']: pred.bce[cfg.kTest - 1],
      tiles: tst.samples.length,
    };

    return {
      task: SEGMENTATION_TASK_ID,
      metrics,
      splits,
      headline: { metric: 'quality', higherIsBetter: true },
      provenance: ctx.lossNetwork.provenance,
      backend: backendName(),
      detail: {
        data: {
          root: data.root,
          synthetic: data.synthetic,
          layout: Object.fromEntries(([train, valid, test].filter(Boolean) as RoadSplit[]).map((s) => [s.split, s.layout])),
          scored: scoredSplit,
          tiles: { train: trainPairs.length, valid: val?.samples.length ?? 0, test: test ? tst.samples.length : 0 },
          scoredRoadFraction: roadFraction(tst.samples),
        },
        protocol: {
          scoreSplit: cfg.scoreSplit,
          evalResize: cfg.evalResize,
          unetTestBatchNorm: cfg.unetTestBatchNorm,
          metricAccumulation: cfg.metricAccumulation,
          lossNetworkMode: cfg.lossNetworkMode,
          downSlope: cfg.downSlope,
        },
        loss: {
          bce: 'mean binary cross-entropy of the sigmoid output (from logits)',
          perceptual: term
            ? {
                mu: cfg.mu,
                backbone: ctx.lossNetwork.backbone.id,
                points: [...ctx.points],
                criterion: 'mse (mean over C, H, W; mean over points)',
                input: 'mask x3 channels, ImageNet mean/std',
                lossNetworkMode: cfg.lossNetworkMode,
              }
            : null,
          stepWeights: `step i of K weighted (i+1) / (K(K+1)/2), K = ${cfg.kTrain}`,
        },
        model: {
          widths: [...cfg.widths],
          downSlope: cfg.downSlope,
          upSlope: cfg.upSlope,
          kTrain: cfg.kTrain,
          kTest: cfg.kTest,
          parameters: store.count(),
        },
        training,
        testPerStep: perStep,
        trivial,
        perImage: tst.names.map((name, i) => ({ name, ...lastScores.perImage[i] })),
        files,
        seconds: (Date.now() - started) / 1000,
      },
    };
  } finally {
    store.dispose();
  }
}

const strip = (s: { completeness: number; correctness: number; quality: number }) => ({
  completeness: s.completeness,
  correctness: s.correctness,
  quality: s.quality,
});

export const segmentationTask = defineTask({
  id: SEGMENTATION_TASK_ID,
  description:
    'road delineation on Massachusetts Roads (Mosinska et al. 2018): iterative U-Net trained with BCE + perceptual loss; test quality (higher is better)',
  config: CONFIG,
  run: runSegmentation,
});
