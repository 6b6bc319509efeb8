import type * as tf from '@tensorflow/tfjs-core';
import type { Graph } from '../graph/ir';
import type { ParamSpec } from '../graph/params';
import type { BatchNormMode } from '../graph/executor';
import type { StateDict } from '../weights/state-dict';

/** Where a backbone's weights came from; every output that used them records this. */
export type WeightsProvenance = { kind: 'pretrained'; file: string; sha256?: string } | { kind: 'random'; seed: number };

/** How a network expects its input: ImageNet mean/std, or none. */
export type InputNormalization = 'imagenet' | 'none';

/** A pretrained weight file: name, URL, SHA-256 prefix and size. */
export interface WeightFileInfo {
  /** torchvision file name, e.g. vgg16-397923af.pth */
  file: string;
  url: string;
  /** The hex digits the file name ends with: a prefix of the file's SHA-256. */
  sha256Prefix: string;
  /** The file's size in bytes, when known: a download never writes more (or accepts fewer). */
  bytes?: number;
}

/** What is known about a network apart from its graph: accuracy, size, weights, normalisation. */
export interface BackboneMetadata {
  /** ImageNet top-1 accuracy (%) of the torchvision V1 weights. */
  imagenetTop1?: number;
  /** Parameters of the whole torchvision model (classifier included), in millions. */
  paramsMillions?: number;
  batchNorm: boolean;
  weights?: WeightFileInfo;
  /** The normalisation the pretrained network expects. */
  normalization: InputNormalization;
  /** One of the 14 networks of the study. */
  inStudy: boolean;
  description?: string;
}

/** A named place to take features, with attributes computed from the architecture. */
export interface ExtractionPoint {
  name: string;
  aliases: string[];
  /** One of the study's four points. */
  paper: boolean;
  /** 1..4 for E1..E4. */
  paperIndex?: number;
  /** The study's 0-based module index. */
  studyIndex?: number;
  /**
   * The torchvision module (dotted name in named_modules(), e.g. 'features.3.1') whose output is this
   * point, for networks outside the study's module-list addressing; the parity harness hooks it.
   */
  torchModule?: string;
  description?: string;
  channels: number;
  stride: number;
  receptiveField: number;
  convsBefore: number;
  /**
   * Learned linear maps (convolutions, linear layers, attention projections) up to the point over
   * those of the whole network: convsBefore / all convolutions for convolutional networks.
   */
  relativeDepth: number;
  paramsUpTo: number;
  /** Smallest square input for which this point has a non-empty output. */
  minInputSize: number;
  /** The graph node this point reads. */
  node: number;
}

/** Options of one forward pass (FeatureExtractor.extract). */
export interface ExtractOptions {
  /** BatchNorm statistics: 'eval' (running, the default) or 'train' (batch, the reference code's behaviour). */
  batchNorm?: BatchNormMode;
  /**
   * With batchNorm 'train': a seeded uniform [0, 1) source that switches on the network's
   * stochastic depth (EfficientNet), as torchvision's modules run in train mode. Ignored in eval mode.
   */
  dropPathRandom?: () => number;
}

/** A built loss network with frozen weights. */
export interface FeatureExtractor {
  readonly backbone: Backbone;
  readonly provenance: WeightsProvenance;
  /**
   * ONE forward pass, as deep as the deepest requested point, returning every requested point
   * (NHWC). `images` is the network input (already normalised), NHWC. Differentiable w.r.t.
   * `images`; the weights never train.
   */
  extract(images: tf.Tensor4D, points: string[], opts?: ExtractOptions): Map<string, tf.Tensor4D>;
  dispose(): void;
}

/** Weights for Backbone.build: a state_dict (with its source), or a seed for random weights. */
export interface BuildOptions {
  /** A torchvision state_dict; omit for seeded random weights. */
  weights?: StateDict;
  /** Describes `weights` for provenance (file path and hash). */
  weightsSource?: { file: string; sha256?: string };
  /** Seed for random weights (default 0). */
  seed?: number;
}

/** A backbone plugin's network: its graph, extraction points, metadata and weight checks; `build` binds weights. */
export interface Backbone {
  readonly id: string;
  readonly family: string;
  readonly metadata: BackboneMetadata;
  graph(): Graph;
  /** Every addressable point, paper points flagged, in graph order. */
  points(): ExtractionPoint[];
  /** Resolves a name, alias, study index (`15`, `vgg16:15`), and throws listing the valid names. */
  point(name: string): ExtractionPoint;
  /** Expands `paper`, `all`, comma lists and aliases into points. */
  resolvePoints(spec: string | string[]): ExtractionPoint[];
  /** The state_dict keys and shapes a checkpoint must provide. */
  expectedParams(): ParamSpec[];
  /** Validates a checkpoint (throws naming every bad key) after applying legacy key renames. */
  prepareWeights(sd: StateDict, source: string): StateDict;
  build(opts?: BuildOptions): FeatureExtractor;
}
