/**
 * Configuration of the similarity task: the study's settings (docs/PROTOCOL.md section 3) as the
 * `paper` preset, a CPU-sized `quick` preset, and a JSON Schema per key (checked by ajv in core).
 */
import { configError, defineTaskConfig, ENGINE_CHOICES, type ConfigProperty, type EngineChoice, type TaskPreset } from '@dpl/core';
import { JND_VAL_SPLITS, TWO_AFC_TRAIN_SPLITS, TWO_AFC_VAL_SPLITS } from './bapps/layout';

export type SimilarityVariant = 'baseline' | 'lin' | 'tune' | 'scratch';
export const VARIANTS: readonly SimilarityVariant[] = ['baseline', 'lin', 'tune', 'scratch'];

/** The task's settings; each key is described in SCHEMA below (and by `dpl describe similarity`). */
export type SimilarityConfig = {
  variant: SimilarityVariant;
  imageSize: number;
  normalize: 'imagenet' | 'lpips';
  lossNetworkMode: 'eval' | 'train';
  valSplits: string[];
  jndSplits: string[];
  trainSplits: string[];
  maxPerSplit: number | null;
  maxTrainTriplets: number | null;
  evalBatchSize: number;
  batchSize: number;
  epochs: number;
  decayEpochs: number;
  lr: number;
  betas: [number, number];
  dropout: number;
  rankHidden: number;
  linWeights: string | null;
  writeDistances: boolean;
  badImages: 'fail' | 'skip';
  resume: boolean;
  engine: EngineChoice;
  syntheticVal: number;
  syntheticTrain: number;
  syntheticJnd: number;
};

const int = (description: string, minimum: number): ConfigProperty => ({ description, type: 'integer', minimum });
const intOrNull = (description: string, minimum: number): ConfigProperty => ({ description, type: ['integer', 'null'], minimum });
const splits = (description: string, valid: readonly string[], minItems: number): ConfigProperty => ({
  description,
  type: 'array',
  items: { enum: valid },
  uniqueItems: true,
  minItems,
});

const SCHEMA: Record<keyof SimilarityConfig, ConfigProperty> = {
  variant: {
    description:
      'baseline: pretrained network, channel sum (no training); lin: frozen network, learned non-negative channel weights; tune: network and weights trained; scratch: random network, everything trained',
    enum: VARIANTS,
  },
  imageSize: int('images are compared at imageSize x imageSize (BAPPS: 64)', 16),
  normalize: { description: "network input: 'imagenet' mean/std (the study) or LPIPS' shift/scale", enum: ['imagenet', 'lpips'] },
  lossNetworkMode: {
    description: "BatchNorm statistics of the network: 'eval' (ours) or 'train' (the reference code, see PROTOCOL section 8)",
    enum: ['eval', 'train'],
  },
  valSplits: splits('BAPPS 2AFC validation splits scored', TWO_AFC_VAL_SPLITS, 1),
  jndSplits: splits('BAPPS JND validation splits scored (may be empty)', JND_VAL_SPLITS, 0),
  trainSplits: splits('BAPPS 2AFC training splits the trained variants learn from', TWO_AFC_TRAIN_SPLITS, 1),
  maxPerSplit: intOrNull('evaluate only the first N items of each split (null: all)', 1),
  maxTrainTriplets: intOrNull('train on at most N triplets (a seeded choice; null: all)', 1),
  evalBatchSize: int('items per forward pass when scoring (and per feature chunk when training)', 1),
  batchSize: int('triplets per optimiser step (the study: 256)', 1),
  epochs: int('epochs at the full learning rate, then decayEpochs of linear decay to 0 (the study: 5 + 5)', 0),
  decayEpochs: int('epochs of linear learning-rate decay to 0 after epochs', 0),
  lr: { description: 'Adam learning rate (the study: 1e-3)', type: 'number', exclusiveMinimum: 0, maximum: 1 },
  betas: {
    description: "Adam's beta1, beta2 (the study: 0.5, 0.999)",
    type: 'array',
    items: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
    minItems: 2,
    maxItems: 2,
  },
  dropout: { description: 'dropout before the channel weighting (training only)', type: 'number', minimum: 0, exclusiveMaximum: 1 },
  rankHidden: int("width of the ranking head's hidden layers (LPIPS: 32)", 1),
  linWeights: {
    description:
      "trained weights to evaluate instead of training: a checkpoint written by this task (<scratch>/similarity-<variant>.safetensors) or, for variant lin, LPIPS' official v0.1 lin checkpoint (alex.pth, vgg.pth, squeeze.pth)",
    type: ['string', 'null'],
    minLength: 1,
    expected: 'a file path, or null',
  },
  writeDistances: { description: 'write per-item distances (CSV) to the scratch directory', type: 'boolean' },
  badImages: {
    description: "an unreadable image or label: 'fail' (stop, naming the file) or 'skip' (drop the item and report it)",
    enum: ['fail', 'skip'],
  },
  resume: { description: 'reuse splits already scored by an identical run in the same scratch directory', type: 'boolean' },
  engine: {
    description:
      "where the frozen loss network runs when scoring (baseline and lin): 'onnx' (onnxruntime-node), 'tfjs', or 'auto' (onnx when installed, else tfjs with a notice); tune and scratch score their trained network on tfjs",
    enum: ENGINE_CHOICES,
  },
  syntheticVal: int('the synthetic stand-in (used without a data root): items per 2AFC validation split', 1),
  syntheticTrain: int('the synthetic stand-in: items per 2AFC training split', 1),
  syntheticJnd: int('the synthetic stand-in: items per JND split', 1),
};

const common = {
  imageSize: 64,
  normalize: 'imagenet',
  lossNetworkMode: 'eval',
  valSplits: [...TWO_AFC_VAL_SPLITS],
  jndSplits: [...JND_VAL_SPLITS],
  trainSplits: [...TWO_AFC_TRAIN_SPLITS],
  lr: 1e-3,
  betas: [0.5, 0.999],
  dropout: 0.5,
  rankHidden: 32,
  linWeights: null,
  writeDistances: false,
  badImages: 'fail',
  resume: true,
  engine: 'auto',
} as const;

export const PRESETS: TaskPreset[] = [
  {
    name: 'paper',
    description:
      'the study (docs/PROTOCOL.md section 3): BAPPS at 64x64, ImageNet normalisation; trained variants: Adam lr 1e-3, betas (0.5, 0.999), batch 256, 5 + 5 epochs, dropout 0.5',
    config: {
      ...common,
      variant: 'baseline',
      maxPerSplit: null,
      maxTrainTriplets: null,
      evalBatchSize: 50,
      batchSize: 256,
      epochs: 5,
      decayEpochs: 5,
      syntheticVal: 50,
      syntheticTrain: 100,
      syntheticJnd: 50,
    },
  },
  {
    name: 'quick',
    description: 'CPU-sized: a few items per split, one short epoch for trained variants',
    config: {
      ...common,
      variant: 'baseline',
      maxPerSplit: 8,
      maxTrainTriplets: 16,
      evalBatchSize: 8,
      batchSize: 8,
      epochs: 1,
      decayEpochs: 0,
      syntheticVal: 4,
      syntheticTrain: 8,
      syntheticJnd: 6,
    },
  },
];

export const CONFIG = defineTaskConfig<SimilarityConfig>({
  task: 'similarity',
  properties: SCHEMA,
  presets: PRESETS,
  refine: (cfg) => {
    const trained = cfg.variant !== 'baseline';
    if (trained && cfg.linWeights === null && cfg.epochs + cfg.decayEpochs === 0) {
      throw configError(
        `variant '${cfg.variant}'`,
        'trains, but epochs + decayEpochs is 0',
        'set epochs >= 1, or give linWeights to evaluate trained weights',
      );
    }
    if (!trained && cfg.linWeights !== null) {
      throw configError(
        "config key 'linWeights'",
        "is set, but variant 'baseline' has no trained weights",
        "use variant 'lin' (or tune/scratch with a checkpoint of that variant)",
      );
    }
  },
});

export const CONFIG_SCHEMA = CONFIG.schema;
export const CONFIG_KEYS = CONFIG.keys;

/** Preset merged with overrides, every key checked; throws naming an unknown key or a bad value. */
export const resolveSimilarityConfig = (preset: string, overrides: Record<string, unknown> = {}): SimilarityConfig =>
  CONFIG.resolve(preset, overrides);

/** Checks an already merged configuration (what TaskContext.config holds): every key known, present and valid. */
export const checkSimilarityConfig = (config: Record<string, unknown>): SimilarityConfig => CONFIG.check(config);

/** Whether the variant trains (unless trained weights are given). */
export const isTrained = (v: SimilarityVariant): boolean => v !== 'baseline';
