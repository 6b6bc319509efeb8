export { exportGraphOnnx, exportBackboneOnnx, type OnnxModel, type OnnxOutput, type OnnxExportOptions, type TensorLayout } from './export';
export {
  cachedOnnxModel,
  verifyOnnxCache,
  defaultOnnxCacheDir,
  weightsHash,
  type CachedModel,
  type CachedModelInfo,
  type CachedModelCheck,
} from './cache';
export {
  loadOnnxRuntime,
  coreCount,
  type OrtLoad,
  type OrtModule,
  type OrtSession,
  type OrtSessionOptions,
  type OrtTensor,
} from './runtime';
export {
  createInferenceEngine,
  checkEngineChoice,
  ENGINE_CHOICES,
  type EngineChoice,
  type EngineName,
  type EngineOptions,
  type EngineRecord,
  type EngineTensor,
  type InferenceEngine,
} from './engine';
export { EngineDistance, createEngineDistance, type AsyncPerceptualDistance } from './distance-engine';
