export { superResolutionTask, SUPER_RESOLUTION_TASK_ID } from './task';
export {
  PRESETS,
  CONFIG_KEYS,
  CONFIG_SCHEMA,
  TEST_SETS,
  lrSizeOf,
  resolveSuperResolutionConfig,
  checkSuperResolutionConfig,
  type SuperResolutionConfig,
  type TestSetName,
} from './config';
export { transformNet, buildTransformNet, upsamplingBlocks, WIDTH, RESIDUAL_BLOCKS, GLOBAL_RESIDUALS, type GlobalResidual } from './model';
export { FeatureMse, singlePoint, type FeatureMseOptions } from './loss';
export { degrade, hrTarget, lrInput, bicubicUpsample, type SrPair, type DegradeOptions } from './data/degrade';
export {
  listImages,
  selectImages,
  selectFiles,
  readImage8,
  PairSource,
  IMAGE_EXTENSIONS,
  type SrFiles,
  type SelectionOptions,
} from './data/folder';
export {
  syntheticImage,
  syntheticSize,
  writeSyntheticDataset,
  REAL_TEST_SIZES,
  type SyntheticCounts,
  type SyntheticManifest,
} from './data/synthetic';
export {
  evaluatePairs,
  validationPsnr,
  bicubicValidationPsnr,
  bicubicBase,
  superResolve,
  imagesToTensor,
  scoreImage,
  writeComparison,
  type Scores,
  type SetEvaluation,
} from './evaluate';
