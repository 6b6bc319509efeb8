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

export * from './graph/ir';
export { GraphBuilder, type Ref, type ConvOptions, type PoolOptions } from './graph/builder';
export { analyse, paramCount, totalConvs, totalParams, type NodeAttributes } from './graph/analyse';
export { spatialShapes, minInputSize, ancestors, poolOut } from './graph/shapes';
export { expectedParams, checkStateDict, assertBindable, type ParamSpec, type BindingReport } from './graph/params';
export { runGraph, type BatchNormMode } from './graph/executor';
export { buildLayers, disposeLayers, type Layer, type ConvLayer } from './graph/layers';
export { randomStateDict } from './graph/random-init';

export { defineBackbone, GraphBackbone, type BackboneSpec } from './backbone/define';
export { defineFamily, torchvisionWeights, type BackboneFamily, type FamilySpec, type FamilyVariant } from './backbone/family';
export { GraphFeatureExtractor, isGraphFeatureExtractor } from './backbone/extractor';

export { FrozenConv2d, type ConvSpec } from './ops/conv-frozen';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, type PoolSpec } from './ops/pool';
export { zeroInsert, zeroInsertFull, padOrCrop, subsample } from './ops/zero-insert';
export { conv2d as trainableConv2d, conv2dInputOnly, convRaw, convInputGrad, convFilterGrad } from './ops/conv-train';
export { depthwiseConv2d, depthwiseConv2dFrozen } from './ops/depthwise';
export { groupedConv2d, groupedConv2dFrozen, FrozenGroupedConv2d, type GroupedStrategy } from './ops/grouped';
export { convTranspose2d, convTranspose2dFrozen, convTransposeOutShape } from './ops/conv-transpose';
export { pad2d, type PadMode, type Pad2d } from './ops/pad';
export type { Conv2DSpec, GroupedConv2DSpec, ConvTranspose2DSpec } from './ops/conv-spec';

export * from './weights/state-dict';
export { readNpy, readNpyFile, readNpyHeader, writeNpy, type NpyArray, type NpyHeader } from './weights/npy';
export { readWeights, detectWeightsFormat, expectBackbone, type WeightsFormat } from './weights/read-weights';
export { maxWeightsBytes, DEFAULT_MAX_WEIGHTS_BYTES, MAX_WEIGHTS_BYTES_ENV } from './weights/limits';
export { readPth } from './weights/pth';
export { readSafetensors, writeSafetensors, looksLikeSafetensors } from './weights/safetensors';

export {
  readImage,
  writePng,
  readInputTensor,
  maxPixels,
  setMaxPixels,
  DEFAULT_MAX_PIXELS,
  MAX_PIXELS_ENV,
  type RgbFloatImage,
  type ReadImageOptions,
} from './image/io';
export { writeHeatmapPng, type HeatmapOptions } from './image/heatmap';
export * from './image/image';
export { resize, resizeShorterSide, shorterSideSize, RESAMPLE_FILTERS, type ResampleFilter } from './image/resample';
export { gaussianBlur, boxBlur, gaussianBoxRadius } from './image/blur';
export { centerCrop, centerCropOffset, crop } from './image/crop';

export { Registry, createRegistry, backbonePlugin, taskPlugin, pluginModule, type RegistryOptions } from './plugins/registry';
export { defaultPlugins, projectPlugins, configuredPlugins, locatePlugin, type FoundPlugin, type MissingPlugin } from './plugins/discover';
export { shareHostModules, findPackageDir, SHARED_PACKAGES } from './plugins/host-modules';
export { checkManifest, PLUGIN_MANIFEST_SCHEMA } from './plugins/manifest';

export * from './util/random';
export { makeTempDir, removeTempDir, withTempDir, liveTempDirs } from './util/temp-dir';

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
