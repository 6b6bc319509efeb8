/**
 * The super-resolution task (docs/PROTOCOL.md section 4): train the Johnson et al. transform network
 * with a deep perceptual loss at one extraction point, keep the checkpoint with the best
 * validation PSNR, and report Y-channel PSNR / SSIM per test set next to the bicubic baseline.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { backendName, configError, defineTask, DplError, ParamStore, trainLoop, type TaskContext, type TaskResult } from '@dpl/core';
import { CONFIG, lrSizeOf, type SuperResolutionConfig, type TestSetName } from './config';
import type { SrPair } from './data/degrade';
import { PairSource, selectFiles, type SrFiles } from './data/folder';
import { REAL_TEST_SIZES, writeSyntheticDataset } from './data/synthetic';
import {
  bicubicBase,
  bicubicValidationPsnr,
  evaluatePairs,
  imagesToTensor,
  meanScores,
  validationPsnr,
  writeComparison,
  type Scores,
  type SetEvaluation,
} from './evaluate';
import { FeatureMse, singlePoint } from './loss';
import { buildTransformNet, transformNet } from './model';

export const SUPER_RESOLUTION_TASK_ID = 'super-resolution';

// a type alias, not an interface: tfjs' TensorContainer needs the implicit index signature
type Batch = {
  lr: tf.Tensor4D;
  /**
   * Loss-network features of the HR targets (constants, computed outside the gradient tape), or
   * the HR images themselves during the pixel warm-up.
   */
  target: tf.Tensor4D;
  /** The bicubic upsampling of `lr` (global residual only; data, no gradient needed). */
  base?: tf.Tensor4D;
};

const seconds = (t0: number) => Number(((Date.now() - t0) / 1000).toFixed(2));

/** Where the data comes from: the given root, or a synthetic stand-in written into the scratch directory. */
async function dataRoot(ctx: TaskContext, cfg: SuperResolutionConfig): Promise<{ root: string; synthetic: boolean }> {
  if (ctx.dataRoot !== undefined) return { root: ctx.dataRoot, synthetic: false };
  const root = path.join(ctx.scratchDir, 'synthetic-data');
  const test: Partial<Record<TestSetName, number>> = {};
  for (const set of cfg.testSets) test[set] = Math.min(cfg.syntheticTestImages ?? REAL_TEST_SIZES[set], cfg.maxTestImages ?? Infinity);
  ctx.progress.log(`super-resolution: no data root given, using synthetic images in ${root}`);
  await writeSyntheticDataset(root, { train: cfg.trainImages, val: cfg.valImages, test }, cfg.hrSize, cfg.selectionSeed);
  return { root, synthetic: true };
}

function checkPointFits(ctx: TaskContext, point: string, cfg: SuperResolutionConfig): void {
  const p = ctx.lossNetwork.backbone.point(point);
  if (cfg.hrSize < p.minInputSize) {
    throw configError(
      `config key 'hrSize'`,
      `${cfg.hrSize} px is smaller than the ${p.minInputSize} px that ${ctx.lossNetwork.backbone.id} needs to reach '${point}'`,
      `use hrSize >= ${p.minInputSize} or an earlier point`,
    );
  }
}

const flat = (prefix: string, s: Scores, shave: number): Record<string, number> => ({
  [`${prefix}psnr`]: s.psnr,
  [`${prefix}ssim`]: s.ssim,
  [`${prefix}psnr_shave${shave}`]: s.psnrShaved,
  [`${prefix}ssim_shave${shave}`]: s.ssimShaved,
  [`${prefix}psnr_official`]: s.psnrOfficial,
  [`${prefix}ssim_official`]: s.ssimOfficial,
});

/** Unweighted mean over the test sets (each set counts once, whatever its size). */
const meanOverSets = (evals: SetEvaluation[], which: 'sr' | 'bicubic'): Scores => meanScores(evals.map((e) => e[which]));

async function runSuperResolution(ctx: TaskContext<SuperResolutionConfig>): Promise<TaskResult> {
  const cfg = ctx.config;
  const point = singlePoint(ctx.points);
  checkPointFits(ctx, point, cfg);
  const t0 = Date.now();

  const { root, synthetic } = await dataRoot(ctx, cfg);
  const files: SrFiles = selectFiles(root, cfg);
  const degradeOpts = { hrSize: cfg.hrSize, scale: cfg.scale, blurRadius: cfg.blurRadius, degradation: cfg.degradation };
  const train = new PairSource(files.train, degradeOpts, cfg.cacheMB * 1024 * 1024);
  const val = await new PairSource(files.val, degradeOpts, Infinity).getMany(files.val.map((_, i) => i));
  ctx.progress.log(
    `super-resolution: x${cfg.scale}, ${cfg.hrSize} -> ${lrSizeOf(cfg)} px, ${files.train.length} train / ${files.val.length} val images (val from ${files.valSource}), point ${point}`,
  );
  const prepareSeconds = seconds(t0);

  const store = new ParamStore(ctx.seed);
  const loss = new FeatureMse({ extractor: ctx.lossNetwork, point, normalize: cfg.normalize, mode: cfg.lossNetworkMode });
  const checkpoint = path.join(ctx.scratchDir, `super-resolution-x${cfg.scale}-best.safetensors`);
  try {
    buildTransformNet(store, cfg.scale, cfg.globalResidual);
    const residual = cfg.globalResidual === 'bicubic';
    const pixelStep = (step: number) => step <= cfg.pixelWarmupSteps;
    const t1 = Date.now();
    const trained = await trainLoop<Batch>({
      store,
      numExamples: train.length,
      batchSize: cfg.batchSize,
      seed: ctx.seed,
      epochs: cfg.epochs,
      maxSteps: cfg.maxSteps ?? undefined,
      makeBatch: async (indices, info) => {
        const pairs = await train.getMany(indices);
        const lrs = pairs.map((p) => p.lr);
        return tf.tidy(() => {
          const hr = imagesToTensor(pairs.map((p) => p.hr));
          const batch: Batch = { lr: imagesToTensor(lrs), target: pixelStep(info.step) ? hr : loss.features(hr) };
          if (residual) batch.base = bicubicBase(lrs, cfg.scale);
          return batch;
        });
      },
      loss: (b, info) =>
        tf.tidy(() => {
          const out = transformNet(store, b.lr, cfg.scale, true, b.base);
          return pixelStep(info.step) ? (tf.mean(tf.squaredDifference(out, b.target)) as tf.Scalar) : loss.loss(out, b.target);
        }),
      adam: { lr: cfg.lr },
      validate: () => validationPsnr(store, cfg.scale, val, cfg.evalBatchSize, cfg.globalResidual),
      validateEvery: cfg.validateEverySteps === null ? { epochs: 1 } : { steps: cfg.validateEverySteps },
      mode: 'max',
      checkpointPath: checkpoint,
      checkpointConfig: { task: SUPER_RESOLUTION_TASK_ID, backbone: ctx.lossNetwork.backbone.id, point, seed: ctx.seed, ...cfg },
      progress: ctx.progress,
      label: `train x${cfg.scale} @ ${point}`,
      // the loss network's frozen convs cache their rotated kernels on their first backward pass,
      // which comes after the pixel warm-up: exempt that step from the leak guard too
      warmupSteps: cfg.pixelWarmupSteps + 1,
      signal: ctx.signal,
      abortError: 'super-resolution training',
    });
    const trainSeconds = seconds(t1);

    // test
    const t2 = Date.now();
    const sampleDir = path.join(ctx.scratchDir, 'samples');
    const samples: string[] = [];
    const evals: SetEvaluation[] = [];
    const splits: Record<string, Record<string, number>> = {};
    const bicubic: Record<string, Record<string, number>> = {};
    const totalTest = cfg.testSets.reduce((s, set) => s + files.test[set]!.length, 0);
    ctx.progress.start('test', totalTest);
    try {
      for (const set of cfg.testSets) {
        if (ctx.signal?.aborted) throw new DplError('E_ABORTED', 'super-resolution testing was interrupted');
        const list = files.test[set]!;
        const pairs: SrPair[] = await new PairSource(list, degradeOpts, 0).getMany(list.map((_, i) => i));
        const e = await evaluatePairs(store, cfg.scale, pairs, cfg.evalBatchSize, cfg.shave, cfg.globalResidual);
        evals.push(e);
        splits[set] = { ...flat('', e.sr, cfg.shave), ...flat('bicubic_', e.bicubic, cfg.shave), images: e.images };
        bicubic[set] = flat('', e.bicubic, cfg.shave);
        if (cfg.samples > 0) fs.mkdirSync(sampleDir, { recursive: true });
        for (let i = 0; i < Math.min(cfg.samples, pairs.length); i++) {
          const file = path.join(sampleDir, `${set}-${i}-lr-bicubic-sr-hr.png`);
          await writeComparison(file, pairs[i], e.outputs[i]);
          samples.push(file);
        }
        ctx.progress.tick(list.length, { set, psnr: Number(e.sr.psnr.toFixed(3)) });
      }
    } finally {
      ctx.progress.done();
    }

    const sr = meanOverSets(evals, 'sr');
    const bic = meanOverSets(evals, 'bicubic');
    // the feature-loss steps (the warm-up's pixel losses are on another scale)
    const steps = trained.history.steps.filter((x) => !pixelStep(x.step));
    const meanLoss = (xs: typeof steps) => (xs.length ? xs.reduce((s, x) => s + x.loss, 0) / xs.length : null);
    // live tensors after each step past the first (which creates Adam's slots) and past the first
    // feature-loss step (the loss network's cached kernels): flat when nothing leaks
    const counts = trained.history.steps.slice(cfg.pixelWarmupSteps + 1).map((x) => x.numTensors);
    return {
      task: SUPER_RESOLUTION_TASK_ID,
      metrics: { ...flat('', sr, cfg.shave), ...flat('bicubic_', bic, cfg.shave) },
      splits,
      headline: { metric: 'psnr', higherIsBetter: true },
      provenance: ctx.lossNetwork.provenance,
      backend: backendName(),
      detail: {
        point,
        scale: cfg.scale,
        sizes: { hr: cfg.hrSize, lr: lrSizeOf(cfg) },
        lossNetwork: { normalize: cfg.normalize, batchNorm: cfg.lossNetworkMode },
        // deviations from the study's model and loss (both off in 'paper')
        globalResidual: cfg.globalResidual,
        pixelWarmupSteps: cfg.pixelWarmupSteps,
        data: {
          root,
          synthetic,
          train: files.train.length,
          val: files.val.length,
          valSource: files.valSource,
          test: Object.fromEntries(cfg.testSets.map((s) => [s, files.test[s]!.length])),
        },
        metricsNote: `Y channel (BT.601, 0..255 scale), mean over the images of each set; top-level values are the unweighted mean over test sets. psnr/ssim: data range 255, no shave; psnr_shave${cfg.shave}/ssim_shave${cfg.shave}: data range 255, ${cfg.shave}-pixel border shaved (the standard); psnr_official/ssim_official: the study's test script (torchmetrics on Y: each image's own Y range, Gaussian 11x11 SSIM, no shave), docs/PROTOCOL.md`,
        degradation: cfg.degradation,
        bicubic,
        training: {
          steps: trained.steps,
          epochs: trained.epochs,
          stopReason: trained.stopReason,
          bestValidationPsnr: trained.bestMetric,
          bicubicValidationPsnr: bicubicValidationPsnr(val),
          bestStep: trained.bestStep,
          validations: trained.history.validations,
          lossFirst10: meanLoss(steps.slice(0, 10)),
          lossLast10: meanLoss(steps.slice(-10)),
          pixelWarmupLossLast10: meanLoss(trained.history.steps.filter((x) => pixelStep(x.step)).slice(-10)),
          parameters: store.count(),
          tensorsAfterStep: counts.length ? { min: Math.min(...counts), max: Math.max(...counts) } : null,
          checkpoint,
        },
        samples,
        seconds: { prepare: prepareSeconds, train: trainSeconds, test: seconds(t2), total: seconds(t0) },
      },
    };
  } finally {
    store.dispose();
  }
}

export const superResolutionTask = defineTask({
  id: SUPER_RESOLUTION_TASK_ID,
  description:
    'x4 / x8 super-resolution (Johnson et al. 2016): transform network trained with feature MSE at one point; Y-PSNR / SSIM on Set5, Set14, BSD100 vs bicubic',
  config: CONFIG,
  run: runSuperResolution,
});
