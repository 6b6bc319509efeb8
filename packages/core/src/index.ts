// Kept in index.d.ts so that a plugin compiles against these declarations without skipLibCheck:
// they use Node's types (Buffer) and tfjs-core's use `Long` (@types/long, a tfjs-core dependency).
/// <reference types="node" preserve="true" />
/// <reference types="long" preserve="true" />
import 'reflect-metadata';

export * from './errors';
export * from './tokens';
export * from './contracts/backbone';
export * from './contracts/task';
export * from './contracts/plugin';
export * from './contracts/cli-command';
export * from './cli-options';
export * from './backend';
export * from './preprocess';
export {
  defineTaskConfig,
  expectedValue,
  type ConfigProperty,
  type TaskConfig,
  type TaskConfigSchema,
  type TaskConfigSpec,
} from './config/task-config';
export { asConfigError, resolveTaskConfig } from './config/config-error';
export { defineTask, type TaskDefinition } from './config/define-task';

export * from './graph/ir';
export { GraphBuilder, type Ref, type ConvOptions, type PoolOptions } from './graph/builder';
export { analyse, totalConvs, totalLayers, totalParams, weightLayers, type NodeAttributes } from './graph/analyse';
export { spatialShapes, minInputSize, poolOut, type SpatialShape } from './graph/shapes';
export { expectedParams, checkStateDict, type ParamSpec, type BindingReport } from './graph/params';
export { runGraph, type BatchNormMode, type DropPathRandom } from './graph/executor';
export type { Layer, ConvLayer, BatchNormLayer, LinearLayer, LayerNormLayer } from './graph/layers';
export type { AttentionLayer } from './ops/attention';
export type { PosEmbedLayer } from './ops/pos-embed';
export { randomStateDict } from './graph/random-init';

export { defineBackbone, GraphBackbone, type BackboneSpec } from './backbone/define';
export { defineFamily, torchvisionWeights, type BackboneFamily, type FamilySpec, type FamilyVariant } from './backbone/family';
export { GraphFeatureExtractor, isGraphFeatureExtractor, type CheckedBackbone } from './backbone/extractor';

export { zeroInsertFull } from './ops/zero-insert';
export { convRaw, convInputGrad, convFilterGrad } from './ops/conv-train';
export type { Pads4 } from './ops/conv-spec';
export { depthwiseConv2d, depthwiseConv2dFrozen } from './ops/depthwise';
export { groupedConv2d, groupedConv2dFrozen, type GroupedStrategy } from './ops/grouped';
export { convTranspose2d, convTranspose2dFrozen } from './ops/conv-transpose';
export type { Conv2DSpec, GroupedConv2DSpec, ConvTranspose2DSpec } from './ops/conv-spec';

export * from './weights/state-dict';
export { readNpy, writeNpy, type NpyArray } from './weights/npy';
export { readWeights, detectWeightsFormat, expectBackbone, type WeightsFormat } from './weights/read-weights';
export { readPth } from './weights/pth';
export { readSafetensors, writeSafetensors, looksLikeSafetensors } from './weights/safetensors';

export { readImage, writePng, readInputTensor, type RgbFloatImage, type ReadImageOptions } from './image/io';
export { writeHeatmapPng, type HeatmapOptions } from './image/heatmap';
export { toFloat01, fromFloat01, type Image8, type ImageF, type RgbImage, type AnyImage, type FloatRounding } from './image/image';
export { resize, resizeShorterSide, RESAMPLE_FILTERS, type ResampleFilter } from './image/resample';
export { gaussianBlur } from './image/blur';
export { centerCrop, crop } from './image/crop';

export { Registry, createRegistry, backbonePlugin, taskPlugin, pluginModule, type RegistryOptions } from './plugins/registry';
export { defaultPlugins, type FoundPlugin } from './plugins/discover';
export { SHARED_PACKAGES } from './plugins/host-modules';
export { PLUGIN_MANIFEST_SCHEMA } from './plugins/manifest';

export * from './util/random';
export { makeTempDir, removeTempDir } from './util/temp-dir';

export { backboneContract, type ContractCheck, type ContractOptions } from './testkit/backbone-contract';
export {
  dplErrorMessage,
  recordingProgress,
  taskTestContext,
  type RecordedProgress,
  type TaskTestContextOptions,
} from './testkit/task-context';

export {
  ParamStore,
  initialValues,
  torchDefaultBound,
  torchDefaultInit,
  type Init,
  type ParamSnapshot,
  type CheckpointMeta,
} from './train/params';
export type { CheckpointValues } from './train/checkpoint';
/** Functional layers for trainable models over a ParamStore: PyTorch semantics, NHWC. */
export * as nn from './train/nn';
export {
  adam,
  ADAM_BETAS_LPIPS,
  setLearningRate,
  getLearningRate,
  constantThenLinearDecay,
  clampNonNegative,
  type AdamOptions,
} from './train/optim';
export { epochOrder, toBatches, epochBatches, batchesPerEpoch, splitTrainVal, type Split } from './train/data-order';
export { trainLoop, type TrainLoopOptions, type TrainResult, type StepInfo, type StepRecord, type ValidationRecord } from './train/loop';

export * from './perceptual';

export * from './onnx';
