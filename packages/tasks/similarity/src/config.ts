/**
 * Configuration of the similarity task: the study's settings (PROTOCOL.md section 3) as the
 * `paper` preset, a CPU-sized `quick` preset, and a validator that names every bad key or value.
 */
import { configError, ENGINE_CHOICES, type EngineChoice, type TaskPreset } from '@dpl/core';
import { JND_VAL_SPLITS, TWO_AFC_TRAIN_SPLITS, TWO_AFC_VAL_SPLITS } from './bapps/layout';

export type SimilarityVariant = 'baseline' | 'lin' | 'tune' | 'scratch';
export const VARIANTS: readonly SimilarityVariant[] = ['baseline', 'lin', 'tune', 'scratch'];

export interface SimilarityConfig {
  /**
   * baseline: pretrained network, channel sum (no training). lin: frozen network, learned
   * non-negative channel weights. tune: network and weights trained. scratch: random network,
   * everything trained.
   */
  variant: SimilarityVariant;
  /** Images are compared at imageSize x imageSize (BAPPS: 64). */
  imageSize: number;
  /** Network input: 'imagenet' mean/std (the study) or LPIPS' shift/scale. */
  normalize: 'imagenet' | 'lpips';
  /** BatchNorm statistics of the network: 'eval' (ours) or 'train' (the reference code, see PROTOCOL section 8). */
  lossNetworkMode: 'eval' | 'train';
  valSplits: string[];
  jndSplits: string[];
  trainSplits: string[];
  /** Evaluate only the first N items of each split (null: all). */
  maxPerSplit: number | null;
  /** Train on at most N triplets (a seeded choice; null: all). */
  maxTrainTriplets: number | null;
  /** Items per forward pass when scoring (and per feature chunk when training). */
  evalBatchSize: number;
  /** Triplets per optimiser step. */
  batchSize: number;
  /** Epochs at the full learning rate, then decayEpochs of linear decay to 0 (LPIPS: 5 + 5). */
  epochs: number;
  decayEpochs: number;
  lr: number;
  betas: [number, number];
  /** Dropout before the channel weighting (training only). */
  dropout: number;
  /** Width of the ranking head's hidden layers (LPIPS: 32). */
  rankHidden: number;
  /**
   * Trained weights to evaluate instead of training: a checkpoint written by this task
   * (`<scratch>/similarity-<variant>.safetensors`) or, for variant lin, LPIPS' official
   * v0.1 lin checkpoint (alex.pth, vgg.pth, squeeze.pth).
   */
  linWeights: string | null;
  /** Write per-item distances (CSV) to the scratch directory. */
  writeDistances: boolean;
  /** An unreadable image or label: 'fail' (stop, naming the file) or 'skip' (drop the item and report it). */
  badImages: 'fail' | 'skip';
  /** Reuse splits already scored by an identical run in the same scratch directory. */
  resume: boolean;
  /**
   * Where the frozen loss network runs when scoring (baseline and lin): 'onnx' (onnxruntime-node),
   * 'tfjs', or 'auto' (onnx when installed, else tfjs with a notice). tune and scratch score
   * their trained network on tfjs.
   */
  engine: EngineChoice;
  /** Items per split of the synthetic stand-in used when no data root is given. */
  syntheticVal: number;
  syntheticTrain: number;
  syntheticJnd: number;
}

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
      'the study (PROTOCOL.md section 3): BAPPS at 64x64, ImageNet normalisation; trained variants: Adam lr 1e-3, betas (0.5, 0.999), batch 256, 5 + 5 epochs, dropout 0.5',
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
  (lo: number, hi: number, open: 'hi' | 'lo' | 'none'): Check =>
  (k, v) => {
    const ok = typeof v === 'number' && Number.isFinite(v) && (open === 'lo' ? v > lo : v >= lo) && (open === 'hi' ? v < hi : v <= hi);
    if (!ok) throw fail(k, v, `a number in ${open === 'lo' ? '(' : '['}${lo}, ${hi}${open === 'hi' ? ')' : ']'}`);
    return v;
  };
const oneOf =
  (values: readonly string[]): Check =>
  (k, v) => {
    if (typeof v !== 'string' || !values.includes(v)) throw fail(k, v, `one of: ${values.join(', ')}`);
    return v;
  };
const bool: Check = (k, v) => {
  if (typeof v !== 'boolean') throw fail(k, v, 'true or false');
  return v;
};
const stringOrNull: Check = (k, v) => {
  if (v !== null && (typeof v !== 'string' || !v)) throw fail(k, v, 'a file path or null');
  return v;
};
/** A list of distinct names from `valid` (a comma-separated string is accepted, as from --set). */
const subset =
  (valid: readonly string[], allowEmpty: boolean): Check =>
  (k, v) => {
    const list =
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v;
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) throw fail(k, v, `a list of: ${valid.join(', ')}`);
    const bad = (list as string[]).filter((s) => !valid.includes(s));
    if (bad.length)
      throw configError(
        `config key '${k}'`,
        `names unknown split${bad.length > 1 ? 's' : ''} ${bad.join(', ')}`,
        `use some of: ${valid.join(', ')}`,
      );
    if (new Set(list).size !== list.length) throw fail(k, v, 'each split once');
    if (!allowEmpty && list.length === 0) throw fail(k, v, `at least one of: ${valid.join(', ')}`);
    return [...(list as string[])];
  };
const betas: Check = (k, v) => {
  const b = num(0, 1, 'hi');
  if (!Array.isArray(v) || v.length !== 2) throw fail(k, v, 'two numbers [beta1, beta2] in [0, 1)');
  return [b(k, v[0]), b(k, v[1])];
};

const CHECKS: Record<keyof SimilarityConfig, Check> = {
  variant: oneOf(VARIANTS),
  imageSize: int(16),
  normalize: oneOf(['imagenet', 'lpips']),
  lossNetworkMode: oneOf(['eval', 'train']),
  valSplits: subset(TWO_AFC_VAL_SPLITS, false),
  jndSplits: subset(JND_VAL_SPLITS, true),
  trainSplits: subset(TWO_AFC_TRAIN_SPLITS, false),
  maxPerSplit: intOrNull(1),
  maxTrainTriplets: intOrNull(1),
  evalBatchSize: int(1),
  batchSize: int(1),
  epochs: int(0),
  decayEpochs: int(0),
  lr: num(0, 1, 'lo'),
  betas,
  dropout: num(0, 1, 'hi'),
  rankHidden: int(1),
  linWeights: stringOrNull,
  writeDistances: bool,
  badImages: oneOf(['fail', 'skip']),
  resume: bool,
  engine: oneOf(ENGINE_CHOICES),
  syntheticVal: int(1),
  syntheticTrain: int(1),
  syntheticJnd: int(1),
};

export const CONFIG_KEYS = Object.keys(CHECKS) as (keyof SimilarityConfig)[];

/** Preset merged with overrides, every key checked; throws naming an unknown key or a bad value. */
export function resolveSimilarityConfig(preset: string, overrides: Record<string, unknown> = {}): SimilarityConfig {
  const p = PRESETS.find((x) => x.name === preset);
  if (!p) throw configError(`preset '${preset}'`, 'is not a preset of similarity', `use one of: ${PRESETS.map((x) => x.name).join(', ')}`);
  for (const k of Object.keys(overrides)) {
    if (!(k in CHECKS)) throw configError(`config key '${k}'`, 'is not a similarity setting', `use one of: ${CONFIG_KEYS.join(', ')}`);
  }
  const merged: Record<string, unknown> = { ...p.config, ...overrides };
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) out[k] = CHECKS[k](k, merged[k]);
  const cfg = out as unknown as SimilarityConfig;
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
  return cfg;
}

/** Checks an already merged configuration (what TaskContext.config holds): every key known, present and valid. */
export function checkSimilarityConfig(config: Record<string, unknown>): SimilarityConfig {
  const missing = CONFIG_KEYS.filter((k) => !(k in config));
  if (missing.length)
    throw configError('similarity config', `lacks ${missing.join(', ')}`, "resolve it with the task's resolveConfig(preset, overrides)");
  return resolveSimilarityConfig('paper', config);
}

/** Whether the variant trains (unless trained weights are given). */
export const isTrained = (v: SimilarityVariant): boolean => v !== 'baseline';
