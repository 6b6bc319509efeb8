/**
 * Configuration of the autoencoder task: the study's settings (PROTOCOL.md section 6) as the
 * `paper` preset, a CPU-sized `quick` preset, and a validator naming every bad key or value.
 */
import { configError, type TaskPreset } from '@dpl/core';

export type AutoencoderDataset = 'auto' | 'stl10' | 'svhn';
export type ReconstructionLossKind = 'perceptual' | 'pixel';

export interface AutoencoderConfig {
  /** Which data set the data root holds ('auto': whichever of STL-10 / SVHN is there). */
  dataset: AutoencoderDataset;
  /** 'perceptual': MSE of loss-network features (the study); 'pixel': plain pixel MSE (its baseline). */
  loss: ReconstructionLossKind;
  /** Loss-network input: raw [0, 1] images ('none', the study) or ImageNet mean/std. */
  normalize: 'none' | 'imagenet';
  /** BatchNorm statistics of the loss network: 'eval' (ours) or 'train' (the reference code, PROTOCOL section 8). */
  lossNetworkMode: 'eval' | 'train';
  codeSize: number;
  encoderChannels: number[];
  decoderChannels: number[];
  lr: number;
  batchSize: number;
  /** Most epochs; training stops earlier after `patience` epochs without a better validation loss. */
  epochs: number;
  patience: number;
  /** Fraction of the autoencoder's images held out for validation. */
  valFraction: number;
  /** Train the autoencoder on at most N images (a seeded choice; null: all). */
  maxAutoencoderImages: number | null;
  /** Hidden layer widths of each MLP probe ([] is a linear probe). */
  probeHidden: number[][];
  probeLr: number;
  probeBatchSize: number;
  probeEpochs: number;
  probePatience: number;
  probeValFraction: number;
  /** Negative slope of the probes' LeakyReLU (PyTorch's default 0.01). */
  probeLeakySlope: number;
  /** Train / test the probes on at most N images (a seeded choice; null: all). */
  maxProbeTrainImages: number | null;
  maxProbeTestImages: number | null;
  /** Images per forward pass when validating and encoding. */
  evalBatchSize: number;
  /** Reflect padding of SVHN's 32 x 32 images per side (study: 16, giving 64 x 64). */
  svhnPad: number;
  /**
   * Where SVHN's compressed X arrays are inflated once (1.6 GB for extra), reused while the .mat
   * file is unchanged; null: <scratch>/svhn-cache. Share one folder across runs to inflate once.
   */
  svhnCacheDir: string | null;
  /** Test images whose reconstructions are written as a PNG to the scratch directory (0: none). */
  samples: number;
  /** The synthetic stand-in used without a data root: image side and split sizes. */
  syntheticSize: number;
  syntheticUnlabeled: number;
  syntheticTrain: number;
  syntheticTest: number;
}

export const PAPER_PROBES: number[][] = [[], [32], [64], [32, 32], [64, 32], [64, 64], [128, 128]];

const common = {
  dataset: 'auto',
  loss: 'perceptual',
  normalize: 'none',
  lossNetworkMode: 'eval',
  codeSize: 64,
  encoderChannels: [32, 64, 128, 256],
  decoderChannels: [1024, 128, 64, 32],
  lr: 1e-3,
  valFraction: 0.2,
  probeHidden: PAPER_PROBES,
  probeLr: 1e-3,
  probeValFraction: 0.2,
  probeLeakySlope: 0.01,
  svhnPad: 16,
  svhnCacheDir: null,
  syntheticSize: 64,
} as const;

export const PRESETS: TaskPreset[] = [
  {
    name: 'paper',
    description:
      'the study (PROTOCOL.md section 6): autoencoder on all of STL-10 unlabeled / SVHN extra, Adam 1e-3, batch 256, up to 50 epochs, patience 10; 7 MLP probes, up to 500 epochs, patience 25',
    config: {
      ...common,
      batchSize: 256,
      epochs: 50,
      patience: 10,
      maxAutoencoderImages: null,
      probeBatchSize: 256,
      probeEpochs: 500,
      probePatience: 25,
      maxProbeTrainImages: null,
      maxProbeTestImages: null,
      evalBatchSize: 256,
      samples: 8,
      syntheticUnlabeled: 5000,
      syntheticTrain: 1000,
      syntheticTest: 1000,
    },
  },
  {
    name: 'quick',
    description:
      'CPU-sized: the same models on 256 autoencoder images for at most 2 epochs (batch 32), probes on 500 / 500 images for at most 50 epochs (batch 64, patience 10)',
    config: {
      ...common,
      batchSize: 32,
      epochs: 2,
      patience: 10,
      maxAutoencoderImages: 256,
      probeBatchSize: 64,
      probeEpochs: 50,
      probePatience: 10,
      maxProbeTrainImages: 500,
      maxProbeTestImages: 500,
      evalBatchSize: 64,
      samples: 8,
      syntheticUnlabeled: 256,
      syntheticTrain: 500,
      syntheticTest: 500,
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
const num =
  (lo: number, hi: number, loOpen: boolean, hiOpen: boolean): Check =>
  (k, v) => {
    const ok = typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
    if (!ok) throw fail(k, v, `a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`);
    return v;
  };
const oneOf =
  (values: readonly string[]): Check =>
  (k, v) => {
    if (typeof v !== 'string' || !values.includes(v)) throw fail(k, v, `one of: ${values.join(', ')}`);
    return v;
  };
const widths =
  (n: number | null): Check =>
  (k, v) => {
    if (!Array.isArray(v) || (n !== null && v.length !== n) || !v.every((x) => Number.isInteger(x) && x >= 1)) {
      throw fail(k, v, n === null ? 'a list of positive integers' : `${n} positive integers`);
    }
    return [...v];
  };
const probes: Check = (k, v) => {
  if (!Array.isArray(v) || v.length === 0) throw fail(k, v, 'a non-empty list of hidden-layer lists, e.g. [[], [32], [64, 64]]');
  return v.map((h, i) => widths(null)(`${k}[${i}]`, h));
};

const CHECKS: Record<keyof AutoencoderConfig, Check> = {
  dataset: oneOf(['auto', 'stl10', 'svhn']),
  loss: oneOf(['perceptual', 'pixel']),
  normalize: oneOf(['none', 'imagenet']),
  lossNetworkMode: oneOf(['eval', 'train']),
  codeSize: int(1),
  encoderChannels: widths(4),
  decoderChannels: widths(4),
  lr: num(0, 1, true, false),
  batchSize: int(2),
  epochs: int(1),
  patience: int(1),
  valFraction: num(0, 1, true, true),
  maxAutoencoderImages: intOrNull(4),
  probeHidden: probes,
  probeLr: num(0, 1, true, false),
  probeBatchSize: int(1),
  probeEpochs: int(1),
  probePatience: int(1),
  probeValFraction: num(0, 1, true, true),
  probeLeakySlope: num(0, 1, false, true),
  maxProbeTrainImages: intOrNull(2),
  maxProbeTestImages: intOrNull(1),
  evalBatchSize: int(1),
  svhnPad: int(0),
  svhnCacheDir: (k, v) => {
    if (v !== null && (typeof v !== 'string' || v === '')) throw fail(k, v, 'a folder path or null');
    return v;
  },
  samples: int(0),
  syntheticSize: int(64),
  syntheticUnlabeled: int(4),
  syntheticTrain: int(2),
  syntheticTest: int(1),
};

export const CONFIG_KEYS = Object.keys(CHECKS) as (keyof AutoencoderConfig)[];

/** Checks every key of an already merged config (e.g. ctx.config). */
export function checkAutoencoderConfig(config: Record<string, unknown>): AutoencoderConfig {
  for (const k of Object.keys(config)) {
    if (!(k in CHECKS)) throw configError(`config key '${k}'`, 'is not an autoencoder setting', `use one of: ${CONFIG_KEYS.join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) {
    if (!(k in config)) throw configError(`config key '${k}'`, 'is missing', "resolve the config with the task's resolveConfig");
    out[k] = CHECKS[k](k, config[k]);
  }
  const cfg = out as unknown as AutoencoderConfig;
  if (cfg.syntheticSize !== 64 && (cfg.syntheticSize - 64) % 16 !== 0) {
    throw fail(
      'syntheticSize',
      cfg.syntheticSize,
      '64 + 16k (the autoencoder reconstructs only those sizes at their own size: 64, 80, 96, ...)',
    );
  }
  return cfg;
}

/** Preset merged with overrides, every key checked; throws naming an unknown key or a bad value. */
export function resolveAutoencoderConfig(preset: string, overrides: Record<string, unknown> = {}): AutoencoderConfig {
  const p = PRESETS.find((x) => x.name === preset);
  if (!p) throw configError(`preset '${preset}'`, 'is not a preset of autoencoder', `use one of: ${PRESETS.map((x) => x.name).join(', ')}`);
  for (const k of Object.keys(overrides)) {
    if (!(k in CHECKS)) throw configError(`config key '${k}'`, 'is not an autoencoder setting', `use one of: ${CONFIG_KEYS.join(', ')}`);
  }
  return checkAutoencoderConfig({ ...p.config, ...overrides });
}
