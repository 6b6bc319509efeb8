export {
  exportGraphOnnx,
  exportBackboneOnnx,
  unsupportedOp,
  ONNX_EXPORTER_VERSION,
  ONNX_INPUT,
  type OnnxModel,
  type OnnxOutput,
  type OnnxExportOptions,
  type TensorLayout,
} from './export';
export {
  cachedOnnxModel,
  cachedModelPath,
  checkCachedModel,
  verifyOnnxCache,
  defaultOnnxCacheDir,
  onnxModelKey,
  weightsHash,
  type CachedModel,
  type CachedModelInfo,
  type CachedModelCheck,
  type ModelKeyParts,
} from './cache';
export {
  loadOnnxRuntime,
  sessionOptions,
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
  extractorStateDict,
  ENGINE_CHOICES,
  type EngineChoice,
  type EngineName,
  type EngineOptions,
  type EngineRecord,
  type EngineTensor,
  type InferenceEngine,
} from './engine';
export { EngineDistance, createEngineDistance, type AsyncPerceptualDistance } from './distance-engine';
