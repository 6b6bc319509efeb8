/**
 * Configuration of the segmentation task: the study's settings (docs/PROTOCOL.md section 5) as its
 * official code ran them as the `paper` preset, the same with the code's pitfalls fixed as
 * `corrected`, a CPU-sized `quick` preset (corrected protocol), and a JSON Schema per key.
 */
import { configError, defineTaskConfig, type ConfigProperty, type TaskPreset } from '@dpl/core';
import type { EvalResize } from './data/loader';

/** The task's settings; each key is described in SCHEMA below (and by `dpl describe segmentation`). */
export type SegmentationConfig = {
  cropSize: number;
  imageSize: number;
  hflip: number;
  widths: [number, number, number, number];
  downSlope: number;
  upSlope: number;
  kTrain: number;
  kTest: number;
  mu: number;
  lossNetworkMode: 'eval' | 'train';
  scoreSplit: 'val' | 'test';
  evalResize: EvalResize;
  unetTestBatchNorm: 'batch' | 'running';
  metricAccumulation: 'official' | 'last';
  lr: number;
  batchSize: number;
  epochs: number;
  maxSteps: number | null;
  validateEvery: number;
  evalBatchSize: number;
  threshold: number;
  gtThreshold: number;
  maxTrainImages: number | null;
  maxValImages: number | null;
  maxTestImages: number | null;
  cacheMB: number;
  samples: number;
  checkpoint: string | null;
  syntheticSize: number;
  syntheticTrain: number;
  syntheticValid: number;
  syntheticTest: number;
};

const int = (description: string, minimum: number): ConfigProperty => ({ description, type: 'integer', minimum });
const intOrNull = (description: string, minimum: number): ConfigProperty => ({ description, type: ['integer', 'null'], minimum });
const unit = (description: string): ConfigProperty => ({ description, type: 'number', minimum: 0, maximum: 1 });
/** A U-Net input side: it halves 4 times and concatenates skips. */
const side = (description: string): ConfigProperty => ({ description, type: 'integer', minimum: 16, multipleOf: 16 });

const SCHEMA: Record<keyof SegmentationConfig, ConfigProperty> = {
  cropSize: side('side of the random training crops (paper 224); a multiple of 16: the U-Net halves it 4 times'),
  imageSize: side('validation and test tiles are resized to imageSize x imageSize (paper 224); a multiple of 16'),
  hflip: unit('probability of a horizontal flip of a training crop (paper 0.5)'),
  widths: {
    description: 'output channels of the 4 down blocks (paper 8, 16, 32, 32); the up blocks mirror them',
    type: 'array',
    items: { type: 'integer', minimum: 1 },
    minItems: 4,
    maxItems: 4,
  },
  downSlope: unit(
    "LeakyReLU slope before each down convolution (0 = ReLU; 'paper' 0: the study's code runs ReLU there, its LeakyReLU branch sits behind an inverted test; 'corrected' 0.2 as intended)",
  ),
  upSlope: unit('LeakyReLU slope before each up convolution (study 0 = ReLU)'),
  kTrain: int('refinement steps in training (paper 1); step i of K is weighted (i+1) / (K(K+1)/2)', 1),
  kTest: int('refinement steps at test time (paper 3); the steps are scored per metricAccumulation', 1),
  mu: {
    description: 'weight of the perceptual term (paper 0.01); 0 trains with BCE alone (no loss-network pass)',
    type: 'number',
    minimum: 0,
    maximum: 1e6,
  },
  lossNetworkMode: {
    description:
      "the loss network in training: 'train' as the study's code left it (BatchNorm on batch statistics, EfficientNet's stochastic depth on, seeded; no running statistics kept) or 'eval' (docs/PROTOCOL.md, Deviations)",
    enum: ['eval', 'train'],
  },
  scoreSplit: {
    description:
      "split the reported scores come from: 'val' (the study's code: the 14 validation tiles, also used for model selection) or 'test' (49 tiles)",
    enum: ['val', 'test'],
  },
  evalResize: {
    description:
      "validation/test tile resize: 'tensor-bilinear' (the study's code: F.interpolate bilinear, align_corners=False, no antialiasing) or 'antialiased' (Pillow bilinear)",
    enum: ['tensor-bilinear', 'antialiased'],
  },
  unetTestBatchNorm: {
    description:
      "U-Net BatchNorm when scoring: 'batch' (the study's code never calls eval(): each tile, scored alone, is normalised by its own statistics) or 'running' (eval mode)",
    enum: ['batch', 'running'],
  },
  metricAccumulation: {
    description:
      "how the K test steps make a score: 'official' (the study's test script: step i of K is added K-i+1 times per tile, then divided by the tile count only, so values can exceed 1) or 'last' (the last step's scores)",
    enum: ['official', 'last'],
  },
  lr: { description: 'Adam learning rate (paper 1e-3)', type: 'number', exclusiveMinimum: 0, maximum: 1 },
  batchSize: int('training crops per step (paper 8)', 2),
  epochs: int('one epoch = one random crop of every training tile (paper 100 epochs)', 1),
  maxSteps: intOrNull('stop after this many optimiser steps (null: run all epochs)', 1),
  validateEvery: int('validate (BCE on the validation split) every N epochs; the lowest-BCE parameters are kept', 1),
  evalBatchSize: int('tiles per forward pass in validation and test', 1),
  threshold: unit('a pixel is predicted road when its probability is > threshold (paper 0.3)'),
  gtThreshold: unit('a ground-truth pixel is road when its (resized) mask value is > gtThreshold (paper 0.5)'),
  maxTrainImages: intOrNull('use only the first N training tiles, in name order (null: all)', 1),
  maxValImages: intOrNull('use only the first N validation tiles (null: all)', 1),
  maxTestImages: intOrNull('use only the first N test tiles (null: all)', 1),
  cacheMB: {
    description: 'decoded training tiles are kept in memory up to this many MiB (0: read every crop from disk)',
    type: 'number',
    minimum: 0,
    maximum: 1e6,
  },
  samples: int('write this many test tiles as image | ground truth | prediction PNGs to the scratch directory', 0),
  checkpoint: {
    description: 'evaluate these trained U-Net weights (a checkpoint written by this task) instead of training',
    type: ['string', 'null'],
    minLength: 1,
    expected: 'a file path, or null',
  },
  syntheticSize: int('the synthetic stand-in (used without a data root): tile side', 16),
  syntheticTrain: int('the synthetic stand-in: training tiles', 1),
  syntheticValid: int('the synthetic stand-in: validation tiles', 1),
  syntheticTest: int('the synthetic stand-in: test tiles', 1),
};

const common = {
  hflip: 0.5,
  widths: [8, 16, 32, 32],
  upSlope: 0,
  kTrain: 1,
  kTest: 3,
  mu: 0.01,
  lr: 1e-3,
  batchSize: 8,
  maxSteps: null,
  validateEvery: 1,
  threshold: 0.3,
  gtThreshold: 0.5,
  cacheMB: 1024,
  checkpoint: null,
} as const;

/** What the study's code did where it differs from its text (docs/PROTOCOL.md, "Deviations"). */
const official = {
  downSlope: 0,
  lossNetworkMode: 'train',
  scoreSplit: 'val',
  evalResize: 'tensor-bilinear',
  unetTestBatchNorm: 'batch',
  metricAccumulation: 'official',
} as const;

/** The same protocol with those pitfalls fixed. */
const corrected = {
  downSlope: 0.2,
  lossNetworkMode: 'eval',
  scoreSplit: 'test',
  evalResize: 'antialiased',
  unetTestBatchNorm: 'running',
  metricAccumulation: 'last',
} as const;

const paperSizes = {
  ...common,
  cropSize: 224,
  imageSize: 224,
  epochs: 100,
  evalBatchSize: 8,
  maxTrainImages: null,
  maxValImages: null,
  maxTestImages: null,
  samples: 4,
  syntheticSize: 256,
  syntheticTrain: 64,
  syntheticValid: 8,
  syntheticTest: 16,
};

const PAPER_TEXT =
  'Massachusetts Roads, random 224 crops + flips, tiles resized to 224 for val/test; ' +
  'iterative U-Net (8/16/32/32), K=1 train / 3 test; BCE + 0.01 x feature MSE; Adam 1e-3, batch 8, 100 epochs; lowest validation BCE kept';

export const PRESETS: TaskPreset[] = [
  {
    name: 'paper',
    description:
      `the study as its official code ran it (docs/PROTOCOL.md section 5 and Deviations): ${PAPER_TEXT}; ` +
      'loss network in train mode, ReLU down blocks, scored on the validation split (tensor bilinear resize, U-Net BatchNorm on batch statistics, metrics accumulated over the 3 steps)',
    config: { ...paperSizes, ...official },
  },
  {
    name: 'corrected',
    description:
      `the study's protocol with its code's pitfalls fixed (docs/PROTOCOL.md, Deviations): ${PAPER_TEXT}; ` +
      'loss network in eval mode, LeakyReLU 0.2 down blocks, scored on the test split (antialiased resize, U-Net in eval mode, last step)',
    config: { ...paperSizes, ...corrected },
  },
  {
    name: 'quick',
    description:
      'CPU-sized, the corrected protocol: 64x64 training crops, val/test tiles at 128, a few tiles per split (32 train, 4 val, 8 test), 15 epochs (60 steps), ' +
      'Adam lr 0.03 (at 1e-3, 60 steps leave the output BatchNorm uncalibrated: every pixel above the 0.3 threshold)',
    config: {
      ...common,
      ...corrected,
      cropSize: 64,
      imageSize: 128,
      lr: 0.03,
      epochs: 15,
      evalBatchSize: 8,
      maxTrainImages: 32,
      maxValImages: 4,
      maxTestImages: 8,
      samples: 2,
      syntheticSize: 128,
      syntheticTrain: 32,
      syntheticValid: 4,
      syntheticTest: 8,
    },
  },
];

export const CONFIG = defineTaskConfig<SegmentationConfig>({
  task: 'segmentation',
  properties: SCHEMA,
  presets: PRESETS,
  refine: (cfg) => {
    if (cfg.syntheticSize < cfg.cropSize) {
      throw configError(
        "config key 'syntheticSize'",
        `is ${cfg.syntheticSize}, smaller than cropSize ${cfg.cropSize}`,
        'make the synthetic tiles at least as large as the training crops',
      );
    }
  },
});

export const CONFIG_SCHEMA = CONFIG.schema;
export const CONFIG_KEYS = CONFIG.keys;

/** Preset merged with overrides, every key checked; throws naming an unknown key or a bad value. */
export const resolveSegmentationConfig = (preset: string, overrides: Record<string, unknown> = {}): SegmentationConfig =>
  CONFIG.resolve(preset, overrides);

/** Checks an already merged configuration (what TaskContext.config holds): every key known, present and valid. */
export const checkSegmentationConfig = (config: Record<string, unknown>): SegmentationConfig => CONFIG.check(config);
