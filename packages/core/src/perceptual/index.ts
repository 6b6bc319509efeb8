export {
  prepareInput,
  checkInputSpec,
  checkRange,
  describeInputSpec,
  LPIPS_SHIFT,
  LPIPS_SCALE,
  RANGE_TOLERANCE,
  type PerceptualInputSpec,
  type PerceptualRange,
  type PerceptualNormalization,
  type PerceptualResize,
} from './input';
export { unitNormalize, UNIT_NORM_EPS } from './unit-normalize';
// differentiable F.interpolate(bilinear, align_corners=False); tf.image.resizeBilinear's gradient is not
export { resizeBilinear as resizeBilinearTorch, bilinearMatrix } from './bilinear';
export { noGrad } from './no-grad';
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
