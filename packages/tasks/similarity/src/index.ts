export { similarityTask, SIMILARITY_TASK_ID, SYNTHETIC_SEED } from './task';
export {
  PRESETS,
  VARIANTS,
  CONFIG_KEYS,
  CONFIG_SCHEMA,
  resolveSimilarityConfig,
  checkSimilarityConfig,
  type SimilarityConfig,
  type SimilarityVariant,
} from './config';
export * from './bapps/layout';
export {
  openSplit,
  itemsOf,
  bappsBatches,
  readLabel,
  readBappsImage,
  type BappsSplit,
  type BappsItem,
  type BappsBatch,
  type SkippedItem,
  type BadItemPolicy,
  type BatchOptions,
} from './bapps/loader';
export {
  generateSyntheticBapps,
  DEFAULT_SYNTHETIC_COUNTS,
  type SyntheticOptions,
  type SyntheticCounts,
  type SyntheticManifest,
} from './bapps/synthetic';
export { readLinWeights, type LoadedLinWeights } from './lin-weights';
export { scoreSplits, type SplitRecord } from './scoring';
