/**
 * The dimensionality-reduction task (docs/PROTOCOL.md section 6, after Pihlgren et al. 2020): how
 * much class information survives when an autoencoder trained with the loss network's
 * perceptual loss compresses an image to a 64-d code.
 *  1. train the autoencoder on STL-10 unlabeled (SVHN extra) with MSE between the loss
 *     network's features of input and reconstruction at the extraction point;
 *  2. encode the labelled train and test images;
 *  3. train 7 MLP probes on the train codes and report each one's test accuracy, their mean and
 *     their best (the headline, higher is better).
 * `loss: 'pixel'` trains the plain pixel-MSE autoencoder (the study's baseline) instead.
 * Without a data root it runs on a synthetic stand-in written to the scratch directory.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  backendName,
  configError,
  defineTask,
  hashSeed,
  inputError,
  mulberry32,
  ParamStore,
  writePng,
  type TaskContext,
  type TaskResult,
} from '@dpl/core';
import { CONFIG, type AutoencoderConfig } from './config';
import type { ImageSet } from './data/image-set';
import { openRunData } from './data/open';
import { ReconstructionLoss } from './loss';
import { buildAutoencoder, checkShape, encode, gridSize, reconstruct, type AutoencoderShape } from './model';
import { trainProbes, type Codes } from './probes';
import { trainAutoencoder } from './train-ae';

export const AUTOENCODER_TASK_ID = 'autoencoder';

/** Codes of every image of `set` (eval mode), in batches. */
export async function encodeSet(
  store: ParamStore,
  shape: AutoencoderShape,
  set: ImageSet,
  batchSize: number,
  onBatch?: (n: number) => void,
): Promise<Codes> {
  if (!set.labels) throw inputError(set.name, 'has no labels', 'the probes need labelled images');
  const values = new Float32Array(set.count * shape.codeSize);
  for (let i = 0; i < set.count; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.count - i) }, (_, j) => i + j);
    const z = tf.tidy(() => encode(store, tf.tensor4d(set.read(idx), [idx.length, set.side, set.side, 3]), false, shape));
    values.set(await z.data(), i * shape.codeSize);
    z.dispose();
    onBatch?.(idx.length);
  }
  return { values, labels: set.labels, dim: shape.codeSize };
}

/** A PNG with the first `n` images of `set` on top and their reconstructions below. */
async function writeSamples(file: string, store: ParamStore, shape: AutoencoderShape, set: ImageSet, n: number): Promise<void> {
  const k = Math.min(n, set.count);
  const idx = Array.from({ length: k }, (_, i) => i);
  const s = set.side;
  const input = set.read(idx);
  const r = tf.tidy(() => reconstruct(store, tf.tensor4d(input, [k, s, s, 3]), false, shape));
  const recon = await r.data();
  r.dispose();
  const W = k * s;
  const data = new Float32Array(W * 2 * s * 3);
  for (let i = 0; i < k; i++) {
    for (let y = 0; y < s; y++) {
      const src = (i * s * s + y * s) * 3;
      data.set(input.subarray(src, src + s * 3), (y * W + i * s) * 3);
      data.set(recon.subarray(src, src + s * 3), ((y + s) * W + i * s) * 3);
    }
  }
  await writePng(file, { width: W, height: 2 * s, data });
}

async function runAutoencoder(ctx: TaskContext<AutoencoderConfig>): Promise<TaskResult> {
  const cfg = ctx.config;
  const started = Date.now();
  const shape = checkShape({ encoderChannels: cfg.encoderChannels, decoderChannels: cfg.decoderChannels, codeSize: cfg.codeSize });
  const points = cfg.loss === 'perceptual' ? ctx.lossNetwork.backbone.resolvePoints(ctx.points).map((p) => p.name) : [];
  if (cfg.loss === 'perceptual' && points.length === 0) {
    throw configError('extraction points', 'are empty', 'give the point the perceptual loss reads (the study uses one point per run)');
  }
  const data = await openRunData(cfg, ctx.dataRoot, ctx.scratchDir, ctx.seed, (m) => ctx.progress.log(m));
  const store = new ParamStore(ctx.seed);
  try {
    const side = data.autoencoder.side;
    for (const s of [data.probeTrain, data.probeTest]) {
      if (s.side !== side)
        throw inputError(
          s.name,
          `has ${s.side}x${s.side} images, the autoencoder's set ${side}x${side}`,
          'use one data set for all splits',
        );
    }
    gridSize(side, `image side of ${data.autoencoder.name}`);
    buildAutoencoder(store, side, shape);
    const loss = new ReconstructionLoss({
      kind: cfg.loss,
      extractor: ctx.lossNetwork,
      points,
      normalize: cfg.normalize,
      batchNorm: cfg.lossNetworkMode,
      // train mode as the study's code ran it (docs/PROTOCOL.md, "Deviations"): seeded stochastic depth
      dropPathRandom: cfg.lossNetworkMode === 'train' ? mulberry32(hashSeed(ctx.seed, 'autoencoder/drop-path')) : undefined,
    });
    const checkpoint = path.join(ctx.scratchDir, 'autoencoder-best.safetensors');
    const ae = await trainAutoencoder({
      cfg,
      store,
      shape,
      images: data.autoencoder,
      loss,
      seed: ctx.seed,
      checkpointPath: checkpoint,
      progress: ctx.progress,
      signal: ctx.signal,
    });

    const encodeStarted = Date.now();
    ctx.progress.start('encode', data.probeTrain.count + data.probeTest.count);
    const tick = (n: number) => ctx.progress.tick(n);
    let train: Codes;
    let test: Codes;
    try {
      train = await encodeSet(store, shape, data.probeTrain, cfg.evalBatchSize, tick);
      test = await encodeSet(store, shape, data.probeTest, cfg.evalBatchSize, tick);
    } finally {
      ctx.progress.done();
    }
    const encodeSeconds = (Date.now() - encodeStarted) / 1000;

    const files: Record<string, string> = { checkpoint };
    if (cfg.samples > 0) {
      files.samples = path.join(ctx.scratchDir, 'autoencoder-samples.png');
      await writeSamples(files.samples, store, shape, data.probeTest, cfg.samples);
    }

    const probes = await trainProbes({
      hidden: cfg.probeHidden,
      train,
      test,
      settings: {
        lr: cfg.probeLr,
        batchSize: cfg.probeBatchSize,
        epochs: cfg.probeEpochs,
        patience: cfg.probePatience,
        valFraction: cfg.probeValFraction,
        leakySlope: cfg.probeLeakySlope,
      },
      seed: ctx.seed,
      progress: ctx.progress,
      signal: ctx.signal,
    });
    const accs = probes.map((p) => p.testAccuracy);
    const metrics: Record<string, number> = {
      best_accuracy: Math.max(...accs),
      mean_accuracy: accs.reduce((a, b) => a + b, 0) / accs.length,
    };
    for (const p of probes) metrics[`accuracy_${p.name}`] = p.testAccuracy;
    if (ae.bestValLoss !== null) metrics.autoencoder_val_loss = ae.bestValLoss;
    const splits: Record<string, Record<string, number>> = {};
    for (const p of probes) {
      splits[`probe/${p.name}`] = {
        test_accuracy: p.testAccuracy,
        val_mse: p.bestValMse ?? Number.NaN,
        epochs: p.epochs,
        steps: p.steps,
        seconds: p.seconds,
      };
    }
    const r = ae.result;
    return {
      task: AUTOENCODER_TASK_ID,
      metrics,
      splits,
      headline: { metric: 'best_accuracy', higherIsBetter: true },
      provenance: ctx.lossNetwork.provenance,
      backend: backendName(),
      detail: {
        data: {
          kind: data.kind,
          root: data.root,
          side,
          autoencoderImages: {
            used: data.autoencoder.count,
            available: data.available.autoencoder,
            train: ae.trainImages,
            val: ae.valImages,
          },
          probeTrainImages: { used: data.probeTrain.count, available: data.available.probeTrain },
          probeTestImages: { used: data.probeTest.count, available: data.available.probeTest },
          synthetic: data.synthetic ?? null,
        },
        loss: loss.describe(),
        model: { ...shape, grid: gridSize(side), parameters: store.count() },
        autoencoder: {
          steps: r.steps,
          epochs: r.epochs,
          stopReason: r.stopReason,
          bestStep: r.bestStep,
          bestValLoss: ae.bestValLoss,
          valLosses: r.history.validations.map((v) => v.metric),
          finalTrainLoss: r.history.steps.length ? r.history.steps[r.history.steps.length - 1].loss : null,
          seconds: ae.seconds,
        },
        probes,
        timings: {
          autoencoder: ae.seconds,
          encode: encodeSeconds,
          probes: probes.reduce((a, p) => a + p.seconds, 0),
          total: (Date.now() - started) / 1000,
        },
        files,
      },
    };
  } finally {
    store.dispose();
    data.close();
  }
}

export const autoencoderTask = defineTask({
  id: AUTOENCODER_TASK_ID,
  description:
    'dimensionality reduction (Pihlgren et al. 2020): a 64-d autoencoder trained with the perceptual loss on STL-10 / SVHN, scored by the best test accuracy of 7 MLP probes on its codes',
  config: CONFIG,
  run: runAutoencoder,
});
