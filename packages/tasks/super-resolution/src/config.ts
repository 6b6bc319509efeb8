/**
 * Configuration of the super-resolution task: the study's settings (docs/PROTOCOL.md section 4) as
 * its official code ran them (`paper`; `corrected` is the same here), a CPU-sized `quick` preset,
 * and a JSON Schema per key (checked by ajv in core).
 */
import { configError, defineTaskConfig, type ConfigProperty, type TaskPreset } from '@dpl/core';
import { DEGRADATIONS, type Degradation } from './data/degrade';
import { GLOBAL_RESIDUALS, type GlobalResidual } from './model';

export const TEST_SETS = ['Set5', 'Set14', 'BSD100'] as const;
export type TestSetName = (typeof TEST_SETS)[number];

/** The task's settings; each key is described in SCHEMA below (and by `dpl describe super-resolution`). */
export type SuperResolutionConfig = {
  scale: 4 | 8;
  hrSize: number;
  blurRadius: number;
  degradation: Degradation;
  normalize: 'none' | 'imagenet';
  lossNetworkMode: 'eval' | 'train';
  trainImages: number;
  valImages: number;
  selectionSeed: number;
  batchSize: number;
  lr: number;
  epochs: number;
  maxSteps: number | null;
  validateEverySteps: number | null;
  testSets: TestSetName[];
  maxTestImages: number | null;
  evalBatchSize: number;
  shave: number;
  samples: number;
  cacheMB: number;
  syntheticTestImages: number | null;
  globalResidual: GlobalResidual;
  pixelWarmupSteps: number;
};

const int = (description: string, minimum: number): ConfigProperty => ({ description, type: 'integer', minimum });
const intOrNull = (description: string, minimum: number): ConfigProperty => ({ description, type: ['integer', 'null'], minimum });

const SCHEMA: Record<keyof SuperResolutionConfig, ConfigProperty> = {
  scale: { description: 'upscaling factor: 4 (the study) or 8 (two or three upsampling blocks)', enum: [4, 8] },
  hrSize: int('HR side (study: 288); the LR side is hrSize / scale', 8),
  blurRadius: {
    description: 'Pillow GaussianBlur radius applied to the HR image before downsampling (study: 1)',
    type: 'number',
    minimum: 0,
  },
  degradation: {
    description:
      "how the LR image is made: 'official' (the study's code: blur the whole original, bicubic so its shorter side is hrSize/scale, centre crop) or 'crop-first' (blur and bicubic-downsample the HR crop)",
    enum: DEGRADATIONS,
  },
  normalize: { description: "loss-network input: raw [0,1] ('none', the study) or ImageNet mean/std", enum: ['none', 'imagenet'] },
  lossNetworkMode: {
    description:
      "the loss network's mode: 'eval' (the study's super-resolution code too) or 'train' (batch statistics, stochastic depth off)",
    enum: ['eval', 'train'],
  },
  trainImages: int('training images chosen (seeded) from <root>/train (study: 10,000 of COCO-2014 train)', 1),
  valImages: int(
    'validation images chosen (seeded) from <root>/val, or from the rest of train when there is no val folder (study: 100)',
    1,
  ),
  selectionSeed: int('seed of that choice (study: 42); separate from the run seed so every run sees the same data', 0),
  batchSize: int('training images per step (study: 4)', 1),
  lr: { description: 'Adam learning rate (study: 1e-3)', type: 'number', exclusiveMinimum: 0 },
  epochs: int('training stops after epochs epochs or maxSteps steps, whichever comes first (study: 80 / 200k)', 1),
  maxSteps: intOrNull('most optimiser steps (null: all epochs)', 1),
  validateEverySteps: intOrNull('validate every N steps (null: after every epoch); the best validation PSNR is kept', 1),
  testSets: {
    description: 'test sets to evaluate, from <root>/<name> (study: Set5, Set14, BSD100)',
    type: 'array',
    items: { enum: TEST_SETS },
    minItems: 1,
    uniqueItems: true,
  },
  maxTestImages: intOrNull('evaluate at most N images per test set (null: all)', 1),
  evalBatchSize: int('images per forward pass at validation and test', 1),
  shave: int(
    "border pixels cropped for the shaved (standard) Y-PSNR / SSIM, psnr_shave<N> (paper/corrected: the scale, 4); psnr/ssim are unshaved and psnr_official/ssim_official are the study code's variant",
    0,
  ),
  samples: int('LR / bicubic / SR / HR comparison PNGs written per test set', 0),
  cacheMB: {
    description: 'preprocessed training images kept in memory (MiB); the rest are decoded again when needed',
    type: 'number',
    minimum: 0,
  },
  syntheticTestImages: intOrNull("images per test set of the synthetic stand-in (null: the real sets' sizes 5 / 14 / 100)", 1),
  globalResidual: {
    description:
      "output = bicubic(LR) + network residual ('bicubic', VDSR's design; the quick preset's deviation) or the study's network alone ('none')",
    enum: GLOBAL_RESIDUALS,
  },
  pixelWarmupSteps: int('steps of pixel MSE before the feature loss takes over (study: 0; a quick-preset option)', 0),
};

const common = {
  scale: 4,
  blurRadius: 1,
  normalize: 'none',
  lossNetworkMode: 'eval',
  selectionSeed: 42,
  batchSize: 4,
  lr: 1e-3,
  testSets: [...TEST_SETS],
  samples: 2,
  cacheMB: 2048,
  pixelWarmupSteps: 0,
} as const;

const paperConfig = {
  ...common,
  degradation: 'official',
  shave: 4,
  hrSize: 288,
  trainImages: 10000,
  valImages: 100,
  epochs: 80,
  maxSteps: 200000,
  validateEverySteps: null,
  maxTestImages: null,
  evalBatchSize: 8,
  syntheticTestImages: null,
  globalResidual: 'none',
} as const;

const PAPER_TEXT =
  'x4, 288 -> 72 px, 10,000 train / 100 val images (seed 42), raw [0,1] loss-network input in eval mode, Adam lr 1e-3, batch 4, 80 epochs (200k steps), best validation PSNR kept';

export const PRESETS: TaskPreset[] = [
  {
    name: 'paper',
    description: `the study as its official code ran it (docs/PROTOCOL.md section 4 and Deviations): ${PAPER_TEXT}; LR made from the whole original (degradation 'official')`,
    config: { ...paperConfig },
  },
  {
    name: 'corrected',
    description: `the same settings as 'paper' (the study's super-resolution code has no pitfall that a setting fixes: docs/PROTOCOL.md, Deviations): ${PAPER_TEXT}`,
    config: { ...paperConfig },
  },
  {
    name: 'quick',
    description:
      'CPU-sized (about a minute of CPU on wasm with squeezenet1_1): x4 at 32 -> 8 px, 64 train / 8 val images, 150 steps at lr 3e-3, 4 images per test set; deviates from the study by a global bicubic residual (output = bicubic(LR) + network residual, VDSR-style), without which a few hundred steps of the pure feature loss stay far below bicubic',
    config: {
      ...common,
      // the HR crop is degraded: cheaper than blurring each whole original, as quick must stay fast
      degradation: 'crop-first',
      shave: 2,
      hrSize: 32,
      trainImages: 64,
      valImages: 8,
      lr: 3e-3,
      epochs: 1000,
      maxSteps: 150,
      validateEverySteps: 25,
      maxTestImages: 4,
      evalBatchSize: 8,
      syntheticTestImages: 4,
      globalResidual: 'bicubic',
    },
  },
];

/** The LR side; the first 9x9 reflect-padded conv needs at least 5 pixels (padding 4 < size). */
export const lrSizeOf = (c: Pick<SuperResolutionConfig, 'hrSize' | 'scale'>) => c.hrSize / c.scale;

export const CONFIG = defineTaskConfig<SuperResolutionConfig>({
  task: 'super-resolution',
  properties: SCHEMA,
  presets: PRESETS,
  refine: (cfg) => {
    if (cfg.hrSize % cfg.scale !== 0) {
      throw configError(
        `config key 'hrSize'`,
        `${cfg.hrSize} is not divisible by the scale ${cfg.scale}`,
        `use a multiple of ${cfg.scale}, e.g. ${cfg.scale * Math.max(5, Math.round(cfg.hrSize / cfg.scale))}`,
      );
    }
    if (lrSizeOf(cfg) < 5) {
      throw configError(
        `config key 'hrSize'`,
        `${cfg.hrSize} gives ${lrSizeOf(cfg)} px LR images at x${cfg.scale}; the 9x9 reflect-padded input conv needs at least 5`,
        `use hrSize >= ${5 * cfg.scale}`,
      );
    }
    if (cfg.hrSize - 2 * cfg.shave < 7) {
      throw configError(
        `config key 'shave'`,
        `${cfg.shave} leaves less than the 7x7 SSIM window of a ${cfg.hrSize} px image`,
        'use a smaller shave or a larger hrSize',
      );
    }
  },
});

export const CONFIG_SCHEMA = CONFIG.schema;
export const CONFIG_KEYS = CONFIG.keys;

/** Preset merged with overrides, every key checked; throws naming an unknown key or a bad value. */
export const resolveSuperResolutionConfig = (preset: string, overrides: Record<string, unknown> = {}): SuperResolutionConfig =>
  CONFIG.resolve(preset, overrides);

/** Checks a complete configuration (every key present and valid, sizes consistent). */
export const checkSuperResolutionConfig = (raw: Record<string, unknown>): SuperResolutionConfig => CONFIG.check(raw);
