export { segmentationTask, SEGMENTATION_TASK_ID, SYNTHETIC_SEED, CHECKPOINT_FILE } from './task';
export { PRESETS, CONFIG_KEYS, CONFIG_SCHEMA, resolveSegmentationConfig, checkSegmentationConfig, type SegmentationConfig } from './config';
export {
  openRoadSplit,
  ROAD_SPLITS,
  SPLIT_DIRS,
  SUBFOLDER_PAIRS,
  IMAGE_EXTS,
  type RoadPair,
  type RoadSplit,
  type RoadSplitName,
} from './data/layout';
export { readRoadPair, trainCrop, evalSample, toTensors, loadEvalSamples, TileReader, type RoadTile, type RoadSample } from './data/loader';
export { syntheticRoadTile, generateSyntheticRoads, type SyntheticRoadsOptions, type SyntheticRoadsManifest } from './data/synthetic';
export { unetLogits, iterate, stepWeight, type UNetOptions } from './model';
export { bceWithLogits, maskToNetworkInput, maskFeatures, iterativeLoss, type PerceptualTerm, type IterativeLossInput } from './loss';
export { predict, scoreMaps, trivialScores, roadFraction, type Prediction, type TestScores } from './evaluate';
export { trainSegmentation, augmentRandom, type TrainArgs, type TrainSummary } from './train';
