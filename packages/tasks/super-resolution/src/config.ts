/**
 * Configuration of the super-resolution task: the study's settings (PROTOCOL.md section 4) as the
 * `paper` preset, a CPU-sized `quick` preset, and a validator that names every bad key or value.
 */
import { configError, type TaskPreset } from '@dpl/core';
import { GLOBAL_RESIDUALS, type GlobalResidual } from './model';

export const TEST_SETS = ['Set5', 'Set14', 'BSD100'] as const;
export type TestSetName = (typeof TEST_SETS)[number];

export interface SuperResolutionConfig {
  /** Upscaling factor: 4 (the study) or 8 (two or three upsampling blocks). */
  scale: 4 | 8;
  /** HR side (study: 288); the LR side is hrSize / scale. */
  hrSize: number;
  /** Pillow GaussianBlur radius applied to the HR image before downsampling (study: 1). */
  blurRadius: number;
  /** Loss-network input: raw [0,1] ('none', the study) or ImageNet mean/std. */
  normalize: 'none' | 'imagenet';
  /** Loss-network BatchNorm statistics: 'eval' (ours) or 'train' (the reference code's pitfall). */
  lossNetworkMode: 'eval' | 'train';
  /** Training images chosen (seeded) from `<root>/train` (study: 10,000 of COCO-2014 train). */
  trainImages: number;
  /** Validation images chosen (seeded) from `<root>/val`, or from the rest of train when there is no val folder (study: 100). */
  valImages: number;
  /** Seed of that choice (study: 42); separate from the run seed so every run sees the same data. */
  selectionSeed: number;
  batchSize: number;
  lr: number;
  /** Training stops after `epochs` epochs or `maxSteps` steps, whichever comes first (study: 80 / 200k). */
  epochs: number;
  maxSteps: number | null;
  /** Validate every N steps (null: after every epoch). */
  validateEverySteps: number | null;
  testSets: TestSetName[];
  /** Evaluate at most N images per test set (null: all). */
  maxTestImages: number | null;
  /** Images per forward pass at validation and test. */
  evalBatchSize: number;
  /** Border pixels cropped for the shaved metric variant (study: 2). */
  shave: number;
  /** LR / bicubic / SR / HR comparison PNGs written per test set. */
  samples: number;
  /** Preprocessed training images kept in memory (MiB); the rest are decoded again when needed. */
  cacheMB: number;
  /** Images per test set of the synthetic stand-in (null: the real sets' sizes 5 / 14 / 100). */
  syntheticTestImages: number | null;
  /**
   * Output = bicubic(LR) + network residual ('bicubic', VDSR's design; quick-preset deviation) or
   * the study's network alone ('none'). See model.ts.
   */
  globalResidual: GlobalResidual;
  /** Steps of pixel MSE before the feature loss takes over (study: 0; a quick-preset option). */
  pixelWarmupSteps: number;
}

const common = {
  scale: 4,
  blurRadius: 1,
  normalize: 'none',
  lossNetworkMode: 'eval',
  selectionSeed: 42,
  batchSize: 4,
  lr: 1e-3,
  testSets: [...TEST_SETS],
  shave: 2,
  samples: 2,
  cacheMB: 2048,
  pixelWarmupSteps: 0,
} as const;

export const PRESETS: TaskPreset[] = [
  {
    name: 'paper',
    description:
      'the study (PROTOCOL.md section 4): x4, 288 -> 72 px, 10,000 train / 100 val images (seed 42), raw [0,1] loss-network input, Adam lr 1e-3, batch 4, 80 epochs (200k steps), best validation PSNR kept',
    config: {
      ...common,
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
    },
  },
  {
    name: 'quick',
    description:
      'CPU-sized (about a minute of CPU on wasm with squeezenet1_1): x4 at 32 -> 8 px, 64 train / 8 val images, 150 steps at lr 3e-3, 4 images per test set; deviates from the study by a global bicubic residual (output = bicubic(LR) + network residual, VDSR-style), without which a few hundred steps of the pure feature loss stay far below bicubic',
    config: {
      ...common,
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
const positive: Check = (k, v) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw fail(k, v, 'a positive number');
  return v;
};
const nonNegative: Check = (k, v) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw fail(k, v, 'a number >= 0');
  return v;
};
const oneOf =
  <T>(values: readonly T[]): Check =>
  (k, v) => {
    if (!values.includes(v as T)) throw fail(k, v, `one of: ${values.map((x) => JSON.stringify(x)).join(', ')}`);
    return v;
  };
/** A non-empty list of distinct test-set names (a comma-separated string is accepted, as from --set). */
const testSets: Check = (k, v) => {
  const list =
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) throw fail(k, v, `a list of: ${TEST_SETS.join(', ')}`);
  const bad = (list as string[]).filter((s) => !(TEST_SETS as readonly string[]).includes(s));
  if (bad.length)
    throw configError(`config key '${k}'`, `names unknown test set(s) ${bad.join(', ')}`, `use some of: ${TEST_SETS.join(', ')}`);
  if (list.length === 0 || new Set(list).size !== list.length)
    throw fail(k, v, `each of ${TEST_SETS.join(', ')} at most once, at least one`);
  return [...(list as string[])];
};

const CHECKS: Record<keyof SuperResolutionConfig, Check> = {
  scale: oneOf([4, 8]),
  hrSize: int(8),
  blurRadius: nonNegative,
  normalize: oneOf(['none', 'imagenet']),
  lossNetworkMode: oneOf(['eval', 'train']),
  trainImages: int(1),
  valImages: int(1),
  selectionSeed: int(0),
  batchSize: int(1),
  lr: positive,
  epochs: int(1),
  maxSteps: intOrNull(1),
  validateEverySteps: intOrNull(1),
  testSets,
  maxTestImages: intOrNull(1),
  evalBatchSize: int(1),
  shave: int(0),
  samples: int(0),
  cacheMB: nonNegative,
  syntheticTestImages: intOrNull(1),
  globalResidual: oneOf(GLOBAL_RESIDUALS),
  pixelWarmupSteps: int(0),
};

export const CONFIG_KEYS = Object.keys(CHECKS) as (keyof SuperResolutionConfig)[];

/** The LR side; the first 9x9 reflect-padded conv needs at least 5 pixels (padding 4 < size). */
export const lrSizeOf = (c: Pick<SuperResolutionConfig, 'hrSize' | 'scale'>) => c.hrSize / c.scale;

/** Preset merged with overrides, every key checked; throws naming an unknown key or a bad value. */
export function resolveSuperResolutionConfig(preset: string, overrides: Record<string, unknown> = {}): SuperResolutionConfig {
  const p = PRESETS.find((x) => x.name === preset);
  if (!p)
    throw configError(`preset '${preset}'`, 'is not a preset of super-resolution', `use one of: ${PRESETS.map((x) => x.name).join(', ')}`);
  for (const k of Object.keys(overrides ?? {})) {
    if (!(CONFIG_KEYS as string[]).includes(k)) {
      throw configError(`config key '${k}'`, 'is not a super-resolution setting', `use one of: ${CONFIG_KEYS.join(', ')}`);
    }
  }
  return checkSuperResolutionConfig({ ...p.config, ...overrides });
}

/** Checks a complete configuration (every key present and valid, sizes consistent). */
export function checkSuperResolutionConfig(raw: Record<string, unknown>): SuperResolutionConfig {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) {
    if (!(k in raw))
      throw configError(`config key '${k}'`, 'is missing', 'resolve the configuration with resolveConfig(preset, overrides)');
    out[k] = CHECKS[k](k, raw[k]);
  }
  const cfg = out as unknown as SuperResolutionConfig;
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
  return cfg;
}
