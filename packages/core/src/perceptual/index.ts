export { checkRange, type PerceptualInputSpec, type PerceptualRange, type PerceptualNormalization, type PerceptualResize } from './input';
export {
  PerceptualDistance,
  type PerceptualDistanceOptions,
  type PerceptualDistanceRecord,
  type PerceptualFeatures,
  type PerceptualMaps,
  type DistanceVariant,
} from './distance';
export {
  LPIPS_POINTS,
  loadLpipsLinWeights,
  lpipsLinFromStateDict,
  lpipsBackbone,
  type LpipsLinWeights,
  type LpipsPointTable,
  type LpipsBackboneId,
} from './lpips-weights';
export {
  LPIPS_LIN_FILES,
  LPIPS_NETS,
  LPIPS_VERSIONS,
  LPIPS_REPO_URL,
  lpipsLinFile,
  lpipsLinFileByHash,
  type LpipsLinFile,
  type LpipsNet,
  type LpipsVersion,
} from './lpips-files';
export {
  PerceptualLoss,
  type PerceptualLossOptions,
  type PerceptualLossRecord,
  type PerceptualCriterion,
  type PerceptualReduction,
} from './loss';
