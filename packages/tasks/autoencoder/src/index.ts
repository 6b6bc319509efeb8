export { autoencoderTask, encodeSet, AUTOENCODER_TASK_ID } from './task';
export {
  PRESETS,
  PAPER_PROBES,
  CONFIG_KEYS,
  CONFIG_SCHEMA,
  resolveAutoencoderConfig,
  checkAutoencoderConfig,
  type AutoencoderConfig,
  type AutoencoderDataset,
  type ReconstructionLossKind,
} from './config';
export {
  PAPER_SHAPE,
  encode,
  decode,
  reconstruct,
  buildAutoencoder,
  gridSize,
  encoderSides,
  decoderSides,
  checkShape,
  type AutoencoderShape,
} from './model';
export { ReconstructionLoss, type ReconstructionLossOptions, type ReconstructionLossRecord } from './loss';
export { trainAutoencoder, meanLoss, type AeTrainSummary, type TrainAutoencoderOptions } from './train-ae';
export { trainProbes, probeForward, probeName, NUM_CLASSES, type ProbeResult, type ProbeSettings, type Codes } from './probes';
export { subset, limit, classCounts, type ImageSet } from './data/image-set';
export {
  openStl10,
  openStl10File,
  readStl10Labels,
  toStl10Layout,
  hasStl10,
  stl10Dir,
  STL10_FILES,
  STL10_SIDE,
  type Stl10Split,
} from './data/stl10';
export {
  openSvhn,
  openSvhnFile,
  svhnLabels,
  reflectIndex,
  hasSvhn,
  SVHN_FILES,
  SVHN_PAD,
  type SvhnSplit,
  type SvhnOptions,
} from './data/svhn';
export { readMatFile, findVariable, openVariableBytes, readNumeric, type MatFile, type MatVariable, type ByteSource } from './data/mat';
export {
  drawSynthetic,
  syntheticSplit,
  writeSynthetic,
  readManifest,
  SYNTHETIC_CLASSES,
  SYNTHETIC_FORMAT,
  type SyntheticCounts,
  type SyntheticManifest,
  type SyntheticSplit,
} from './data/synthetic';
export { openRunData, SYNTHETIC_SEED, type RunData } from './data/open';
