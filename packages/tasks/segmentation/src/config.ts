/**
 * Configuration of the segmentation task: the study's settings (PROTOCOL.md section 5) as the
 * `paper` preset, a CPU-sized `quick` preset, and a validator that names every bad key or value.
 */
import { configError, type TaskPreset } from '@dpl/core';

export interface SegmentationConfig {
  /** Side of the random training crops (paper 224). A multiple of 16: the U-Net halves it 4 times. */
  cropSize: number;
  /** Validation and test tiles are resized to imageSize x imageSize (paper 224); a multiple of 16. */
  imageSize: number;
  /** Probability of a horizontal flip of a training crop (paper 0.5). */
  hflip: number;
  /** Output channels of the 4 down blocks (paper 8, 16, 32, 32); the up blocks mirror them. */
  widths: [number, number, number, number];
  /** LeakyReLU slope before each down convolution (reference code 0.2; 0 = ReLU). */
  downSlope: number;
  /** LeakyReLU slope before each up convolution (reference code 0 = ReLU). */
  upSlope: number;
  /** Refinement steps in training (paper 1); step i of K is weighted (i+1) / (K(K+1)/2). */
  kTrain: number;
  /** Refinement steps at test time (paper 3); the last step's prediction is scored. */
  kTest: number;
  /** Weight of the perceptual term (paper 0.01); 0 trains with BCE alone (no loss-network pass). */
  mu: number;
  /** BatchNorm statistics of the loss network: 'eval' (ours) or 'train' (the reference code, PROTOCOL section 8). */
  lossNetworkMode: 'eval' | 'train';
  lr: number;
  batchSize: number;
  /** One epoch = one random crop of every training tile (paper 100 epochs). */
  epochs: number;
  /** Stop after this many optimiser steps (null: run all epochs). */
  maxSteps: number | null;
  /** Validate (BCE on the validation split) every N epochs; the lowest-BCE parameters are kept. */
  validateEvery: number;
  /** Tiles per forward pass in validation and test. */
  evalBatchSize: number;
  /** A pixel is predicted road when its probability is > threshold (paper 0.3). */
  threshold: number;
  /** A ground-truth pixel is road when its (resized) mask value is > gtThreshold (paper 0.5). */
  gtThreshold: number;
  /** Use only the first N tiles (in name order) of a split (null: all). */
  maxTrainImages: number | null;
  maxValImages: number | null;
  maxTestImages: number | null;
  /** Decoded training tiles are kept in memory up to this many MiB (0: read every crop from disk). */
  cacheMB: number;
  /** Write this many test tiles as image | ground truth | prediction PNGs to the scratch directory. */
  samples: number;
  /** Evaluate these trained U-Net weights (a checkpoint written by this task) instead of training. */
  checkpoint: string | null;
  /** The synthetic stand-in used when no data root is given: tile side and tiles per split. */
  syntheticSize: number;
  syntheticTrain: number;
  syntheticValid: number;
  syntheticTest: number;
}

const common = {
  hflip: 0.5,
  widths: [8, 16, 32, 32],
  downSlope: 0.2,
  upSlope: 0,
  kTrain: 1,
  kTest: 3,
  mu: 0.01,
  lossNetworkMode: 'eval',
  lr: 1e-3,
  batchSize: 8,
  maxSteps: null,
  validateEvery: 1,
  threshold: 0.3,
  gtThreshold: 0.5,
  cacheMB: 1024,
  checkpoint: null,
} as const;

export const PRESETS: TaskPreset[] = [
  {
    name: 'paper',
    description:
      'the study (PROTOCOL.md section 5): Massachusetts Roads, random 224 crops + flips, tiles resized to 224 for val/test; ' +
      'iterative U-Net (8/16/32/32), K=1 train / 3 test; BCE + 0.01 x feature MSE; Adam 1e-3, batch 8, 100 epochs; lowest validation BCE kept',
    config: {
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
    },
  },
  {
    name: 'quick',
    description:
      'CPU-sized: 64x64 training crops, val/test tiles at 128, a few tiles per split (32 train, 4 val, 8 test), 15 epochs (60 steps), ' +
      'Adam lr 0.03 (at 1e-3, 60 steps leave the output BatchNorm uncalibrated: every pixel above the 0.3 threshold)',
    config: {
      ...common,
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

type Check = (key: string, v: unknown) => unknown;

const fail = (key: string, v: unknown, expected: string) =>
  configError(`config key '${key}'`, `has the value ${JSON.stringify(v)}`, `use ${expected}`);

const int =
  (min: number): Check =>
  (k, v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw fail(k, v, `an integer >= ${min}`);
    return v;
  };
const intOrNull =
  (min: number): Check =>
  (k, v) =>
    v === null ? null : int(min)(k, v);
/** A positive multiple of 16 (the U-Net downsamples by 2 four times and concatenates skips). */
const mult16: Check = (k, v) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 16 || v % 16 !== 0) throw fail(k, v, 'a multiple of 16 (16, 32, ..., 224)');
  return v;
};
const num =
  (lo: number, hi: number, loOpen = false): Check =>
  (k, v) => {
    const ok = typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi;
    if (!ok) throw fail(k, v, `a number in ${loOpen ? '(' : '['}${lo}, ${hi}]`);
    return v;
  };
const oneOf =
  (values: readonly string[]): Check =>
  (k, v) => {
    if (typeof v !== 'string' || !values.includes(v)) throw fail(k, v, `one of: ${values.join(', ')}`);
    return v;
  };
const stringOrNull: Check = (k, v) => {
  if (v !== null && (typeof v !== 'string' || !v)) throw fail(k, v, 'a file path or null');
  return v;
};
/** Four positive integers (a comma-separated string is accepted, as from --set). */
const widths: Check = (k, v) => {
  const list = typeof v === 'string' ? v.split(',').map((s) => Number(s.trim())) : v;
  if (!Array.isArray(list) || list.length !== 4 || !list.every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 1)) {
    throw fail(k, v, 'four positive integers, e.g. [8, 16, 32, 32]');
  }
  return [...list];
};

const CHECKS: Record<keyof SegmentationConfig, Check> = {
  cropSize: mult16,
  imageSize: mult16,
  hflip: num(0, 1),
  widths,
  downSlope: num(0, 1),
  upSlope: num(0, 1),
  kTrain: int(1),
  kTest: int(1),
  mu: num(0, 1e6),
  lossNetworkMode: oneOf(['eval', 'train']),
  lr: num(0, 1, true),
  batchSize: int(2),
  epochs: int(1),
  maxSteps: intOrNull(1),
  validateEvery: int(1),
  evalBatchSize: int(1),
  threshold: num(0, 1),
  gtThreshold: num(0, 1),
  maxTrainImages: intOrNull(1),
  maxValImages: intOrNull(1),
  maxTestImages: intOrNull(1),
  cacheMB: num(0, 1e6),
  samples: int(0),
  checkpoint: stringOrNull,
  syntheticSize: int(16),
  syntheticTrain: int(1),
  syntheticValid: int(1),
  syntheticTest: int(1),
};

export const CONFIG_KEYS = Object.keys(CHECKS) as (keyof SegmentationConfig)[];

/** Preset merged with overrides, every key checked; throws naming an unknown key or a bad value. */
export function resolveSegmentationConfig(preset: string, overrides: Record<string, unknown> = {}): SegmentationConfig {
  const p = PRESETS.find((x) => x.name === preset);
  if (!p)
    throw configError(`preset '${preset}'`, 'is not a preset of segmentation', `use one of: ${PRESETS.map((x) => x.name).join(', ')}`);
  for (const k of Object.keys(overrides)) {
    if (!(k in CHECKS)) throw configError(`config key '${k}'`, 'is not a segmentation setting', `use one of: ${CONFIG_KEYS.join(', ')}`);
  }
  const merged: Record<string, unknown> = { ...p.config, ...overrides };
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) out[k] = CHECKS[k](k, merged[k]);
  const cfg = out as unknown as SegmentationConfig;
  if (cfg.syntheticSize < cfg.cropSize) {
    throw configError(
      "config key 'syntheticSize'",
      `is ${cfg.syntheticSize}, smaller than cropSize ${cfg.cropSize}`,
      'make the synthetic tiles at least as large as the training crops',
    );
  }
  return cfg;
}

/** Checks an already merged configuration (what TaskContext.config holds): every key known, present and valid. */
export function checkSegmentationConfig(config: Record<string, unknown>): SegmentationConfig {
  const missing = CONFIG_KEYS.filter((k) => !(k in config));
  if (missing.length)
    throw configError('segmentation config', `lacks ${missing.join(', ')}`, "resolve it with the task's resolveConfig(preset, overrides)");
  return resolveSegmentationConfig('paper', config);
}
