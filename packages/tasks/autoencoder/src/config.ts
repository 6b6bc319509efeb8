/**
 * Configuration of the autoencoder task: the study's settings (docs/PROTOCOL.md section 6) as its
 * official code ran them (`paper`), the same with the loss network in eval mode (`corrected`), a
 * CPU-sized `quick` preset, and a JSON Schema per key (checked by ajv in core). `loss: pixel` is
 * the study's pixel-MSE baseline autoencoder.
 */
import { configError, defineTaskConfig, type ConfigProperty, type TaskPreset } from '@dpl/core';

export type AutoencoderDataset = 'auto' | 'stl10' | 'svhn';
export type ReconstructionLossKind = 'perceptual' | 'pixel';

/** The task's settings; each key is described in SCHEMA below (and by `dpl describe autoencoder`). */
export type AutoencoderConfig = {
  dataset: AutoencoderDataset;
  loss: ReconstructionLossKind;
  normalize: 'none' | 'imagenet';
  lossNetworkMode: 'eval' | 'train';
  codeSize: number;
  encoderChannels: number[];
  decoderChannels: number[];
  lr: number;
  batchSize: number;
  epochs: number;
  patience: number;
  valFraction: number;
  maxAutoencoderImages: number | null;
  probeHidden: number[][];
  probeLr: number;
  probeBatchSize: number;
  probeEpochs: number;
  probePatience: number;
  probeValFraction: number;
  probeLeakySlope: number;
  maxProbeTrainImages: number | null;
  maxProbeTestImages: number | null;
  evalBatchSize: number;
  svhnPad: number;
  svhnCacheDir: string | null;
  samples: number;
  syntheticSize: number;
  syntheticUnlabeled: number;
  syntheticTrain: number;
  syntheticTest: number;
};

const int = (description: string, minimum: number): ConfigProperty => ({ description, type: 'integer', minimum });
const intOrNull = (description: string, minimum: number): ConfigProperty => ({ description, type: ['integer', 'null'], minimum });
const fraction = (description: string): ConfigProperty => ({ description, type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 });
const rate = (description: string): ConfigProperty => ({ description, type: 'number', exclusiveMinimum: 0, maximum: 1 });
const channels = (description: string): ConfigProperty => ({
  description,
  type: 'array',
  items: { type: 'integer', minimum: 1 },
  minItems: 4,
  maxItems: 4,
});

const SCHEMA: Record<keyof AutoencoderConfig, ConfigProperty> = {
  dataset: {
    description: "which data set the data root holds ('auto': whichever of STL-10 / SVHN is there)",
    enum: ['auto', 'stl10', 'svhn'],
  },
  loss: {
    description: "'perceptual': MSE of loss-network features (the study); 'pixel': plain pixel MSE (its baseline)",
    enum: ['perceptual', 'pixel'],
  },
  normalize: { description: "loss-network input: raw [0, 1] images ('none', the study) or ImageNet mean/std", enum: ['none', 'imagenet'] },
  lossNetworkMode: {
    description:
      "the loss network: 'train' as the study's code left it (BatchNorm on batch statistics, EfficientNet's stochastic depth on, seeded; no running statistics kept) or 'eval' (docs/PROTOCOL.md, Deviations)",
    enum: ['eval', 'train'],
  },
  codeSize: int('length of the latent code (study: 64)', 1),
  encoderChannels: channels('output channels of the 4 encoder convolutions (study: 32, 64, 128, 256)'),
  decoderChannels: channels('channels of the 4 decoder stages (study: 1024, 128, 64, 32)'),
  lr: rate('Adam learning rate of the autoencoder (study: 1e-3)'),
  batchSize: int('autoencoder images per step (study: 256)', 2),
  epochs: int('most epochs; training stops earlier after patience epochs without a better validation loss', 1),
  patience: int('epochs without a better validation loss before the autoencoder stops (study: 10)', 1),
  valFraction: fraction("fraction of the autoencoder's images held out for validation"),
  maxAutoencoderImages: intOrNull('train the autoencoder on at most N images (a seeded choice; null: all)', 4),
  probeHidden: {
    description: 'hidden layer widths of each MLP probe ([] is a linear probe)',
    type: 'array',
    items: { type: 'array', items: { type: 'integer', minimum: 1 } },
    minItems: 1,
    expected: 'a non-empty list of hidden-layer lists of positive integers, e.g. [[], [32], [64, 64]]',
  },
  probeLr: rate('Adam learning rate of the probes (study: 1e-3)'),
  probeBatchSize: int('probe training batch (study: 256)', 1),
  probeEpochs: int('most probe epochs (study: 500)', 1),
  probePatience: int('probe epochs without a better validation loss before a probe stops (study: 25)', 1),
  probeValFraction: fraction("fraction of the probes' training codes held out for validation"),
  probeLeakySlope: {
    description: "negative slope of the probes' LeakyReLU (PyTorch's default 0.01)",
    type: 'number',
    minimum: 0,
    exclusiveMaximum: 1,
  },
  maxProbeTrainImages: intOrNull('train the probes on at most N images (a seeded choice; null: all)', 2),
  maxProbeTestImages: intOrNull('test the probes on at most N images (a seeded choice; null: all)', 1),
  evalBatchSize: int('images per forward pass when validating and encoding', 1),
  svhnPad: int("reflect padding of SVHN's 32 x 32 images per side (study: 16, giving 64 x 64)", 0),
  svhnCacheDir: {
    description:
      "where SVHN's compressed X arrays are inflated once (1.6 GB for extra), reused while the .mat file is unchanged; null: <scratch>/svhn-cache",
    type: ['string', 'null'],
    minLength: 1,
    expected: 'a folder path, or null',
  },
  samples: int('test images whose reconstructions are written as a PNG to the scratch directory (0: none)', 0),
  syntheticSize: int('the synthetic stand-in (used without a data root): image side, 64 + 16k', 64),
  syntheticUnlabeled: int('the synthetic stand-in: unlabeled images (the autoencoder trains on them)', 4),
  syntheticTrain: int("the synthetic stand-in: labelled training images (the probes')", 2),
  syntheticTest: int('the synthetic stand-in: labelled test images', 1),
};

export const PAPER_PROBES: number[][] = [[], [32], [64], [32, 32], [64, 32], [64, 64], [128, 128]];

const common = {
  dataset: 'auto',
  loss: 'perceptual',
  normalize: 'none',
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

const paperConfig = {
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
} as const;

const PAPER_TEXT =
  'autoencoder on all of STL-10 unlabeled / SVHN extra, Adam 1e-3, batch 256, up to 50 epochs, patience 10; 7 MLP probes, up to 500 epochs, patience 25';

export const PRESETS: TaskPreset[] = [
  {
    name: 'paper',
    description: `the study as its official code ran it (docs/PROTOCOL.md section 6 and Deviations): ${PAPER_TEXT}; loss network in train mode`,
    config: { ...paperConfig, lossNetworkMode: 'train' },
  },
  {
    name: 'corrected',
    description: `the study's protocol with its code's pitfall fixed (docs/PROTOCOL.md, Deviations): ${PAPER_TEXT}; loss network in eval mode`,
    config: { ...paperConfig, lossNetworkMode: 'eval' },
  },
  {
    name: 'quick',
    description:
      'CPU-sized: the same models on 256 autoencoder images for at most 2 epochs (batch 32), probes on 500 / 500 images for at most 50 epochs (batch 64, patience 10)',
    config: {
      ...common,
      lossNetworkMode: 'eval',
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

export const CONFIG = defineTaskConfig<AutoencoderConfig>({
  task: 'autoencoder',
  properties: SCHEMA,
  presets: PRESETS,
  refine: (cfg) => {
    if (cfg.syntheticSize !== 64 && (cfg.syntheticSize - 64) % 16 !== 0) {
      throw configError(
        "config key 'syntheticSize'",
        `has the value ${cfg.syntheticSize}`,
        'use 64 + 16k (the autoencoder reconstructs only those sizes at their own size: 64, 80, 96, ...)',
      );
    }
  },
});

export const CONFIG_SCHEMA = CONFIG.schema;
export const CONFIG_KEYS = CONFIG.keys;

/** Checks every key of an already merged config (e.g. ctx.config). */
export const checkAutoencoderConfig = (config: Record<string, unknown>): AutoencoderConfig => CONFIG.check(config);

/** Preset merged with overrides, every key checked; throws naming an unknown key or a bad value. */
export const resolveAutoencoderConfig = (preset: string, overrides: Record<string, unknown> = {}): AutoencoderConfig =>
  CONFIG.resolve(preset, overrides);
