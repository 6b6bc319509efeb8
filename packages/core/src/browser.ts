/**
 * The part of @dpl/core that runs in a browser (packages/web bundles it in place of the index):
 * networks from the families' graphs, the weight readers on bytes, the perceptual distance and its
 * map, seeded random weights, .npy writing and the map's colours. Nothing here imports node
 * modules (fs, sharp, node:crypto, yauzl); packages/web/vite.config.ts swaps backend.ts,
 * gradients.ts and the onnx engine module for small browser versions.
 */
export * from './errors';
export * from './contracts/backbone';
export * from './preprocess';
export * from './graph/ir';
export { GraphBuilder, type Ref, type ConvOptions, type PoolOptions } from './graph/builder';
export { randomStateDict } from './graph/random-init';
export { defineBackbone, GraphBackbone, type BackboneSpec } from './backbone/define';
export { defineFamily, torchvisionWeights, type BackboneFamily, type FamilySpec, type FamilyVariant } from './backbone/family';
export * from './weights/state-dict';
export { memoryWeights, readRange, type WeightsBytes } from './weights/byte-source';
export { readWeightsFrom, sniffWeightsFormat, expectBackbone, type WeightsFormat } from './weights/read-bytes';
export type { OpenZip, ZipArchive, ZipEntryInfo } from './weights/pth-read';
export { DEFAULT_MAX_WEIGHTS_BYTES } from './weights/limits';
export { npyBytes } from './weights/npy-write';
export { colour, colourBarRgb, heatmapRgb } from './image/colormap';
export { PerceptualDistance, type PerceptualDistanceRecord, type PerceptualMaps, type DistanceVariant } from './perceptual/distance';
export type { PerceptualNormalization, PerceptualRange } from './perceptual/input';
export { LPIPS_POINTS, lpipsBackbone, lpipsLinFromStateDict, type LpipsBackboneId, type LpipsLinWeights } from './perceptual/lpips-points';
export { lpipsLinFile, lpipsLinFileByHash, type LpipsNet, type LpipsVersion } from './perceptual/lpips-files';
export { EngineDistance } from './onnx/distance-engine';
export type { EngineRecord, InferenceEngine } from './onnx/engine';
