/**
 * The backbone graph IR: a small DAG with PyTorch semantics whose parameters are named by
 * torchvision state_dict keys. Several interpreters read it: the tfjs executor, the analyser,
 * the weight binder and (later) exporters. Nodes are stored in topological order.
 */
export type Pair = [number, number];

/** A 2-D convolution with PyTorch semantics (stride, explicit symmetric pad, dilation, groups, bias). */
export interface ConvOp {
  kind: 'conv';
  /** state_dict prefix: reads `<key>.weight` [out, in/groups, kh, kw] and `<key>.bias` [out]. */
  key: string;
  inChannels: number;
  outChannels: number;
  kernel: Pair;
  stride: Pair;
  pad: Pair;
  dilation: Pair;
  groups: number;
  bias: boolean;
}

/** BatchNorm2d with eval statistics by default. */
export interface BatchNormOp {
  kind: 'batchNorm';
  /** reads `<key>.weight|bias|running_mean|running_var` [C] (num_batches_tracked is ignored). */
  key: string;
  channels: number;
  eps: number;
}

/** A fully connected layer (PyTorch's Linear) on a flattened input. */
export interface LinearOp {
  kind: 'linear';
  key: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

/** Max or average pooling with PyTorch's padding, ceil_mode and count_include_pad. */
export interface PoolOp {
  kind: 'maxPool' | 'avgPool';
  kernel: Pair;
  stride: Pair;
  pad: Pair;
  ceil: boolean;
  /** avgPool only: PyTorch's count_include_pad (default true). */
  countIncludePad: boolean;
}

/** Adaptive (or global) average pooling to a fixed output size. */
export interface AdaptiveAvgPoolOp {
  kind: 'adaptiveAvgPool';
  /** Output size; [1, 1] is a global average pool. */
  out: Pair;
}

/** The element-wise activations the IR knows. */
export type ActivationKind = 'relu' | 'relu6' | 'silu' | 'sigmoid' | 'hardswish' | 'tanh';

/** An element-wise activation. */
export interface ActivationOp {
  kind: ActivationKind;
}

/** Explicit padding of the spatial dimensions. */
export interface PadOp {
  kind: 'pad';
  /** top, bottom, left, right */
  pads: [number, number, number, number];
  mode: 'constant' | 'reflect';
  value: number;
}

/** Per-channel x * scale + shift with constant vectors (input normalisation, transform_input). */
export interface AffineOp {
  kind: 'affine';
  scale: number[];
  shift: number[];
}

/** Every op of the graph IR (a short, closed list every interpreter handles). */
export type Op =
  | { kind: 'input'; channels: number }
  | ConvOp
  | BatchNormOp
  | LinearOp
  | PoolOp
  | AdaptiveAvgPoolOp
  | ActivationOp
  | PadOp
  | AffineOp
  | { kind: 'concat' }
  | AddOp
  | { kind: 'mul' }
  | { kind: 'flatten' };

/**
 * Elementwise sum. `dropPath` > 0 marks a residual sum whose first input is the branch that
 * torchvision's StochasticDepth(p, 'row') drops per sample in train mode (EfficientNet's MBConv);
 * in eval mode, and for every other interpreter, it is a plain sum.
 */
export interface AddOp {
  kind: 'add';
  dropPath?: number;
}

/** One node of a graph: its id, op, input node ids and output channels. */
export interface GraphNode {
  id: number;
  op: Op;
  inputs: number[];
  /** Output channels (features for linear/flatten). */
  channels: number;
}

/** A named extraction point on a node. */
export interface TapSpec {
  name: string;
  node: number;
  /** 1..4 when this is one of the study's four points (E1..E4). */
  paperIndex?: number;
  /** The study's 0-based module index (children of model.features, or top-level children). */
  studyIndex?: number;
  /** Other names that resolve to this tap. */
  aliases?: string[];
  /** A one-line description (e.g. 'ReLU after conv3_3'). */
  description?: string;
}

/** A backbone as data: its nodes (inputs before the nodes that read them), the named taps, the output node. */
export interface Graph {
  nodes: GraphNode[];
  taps: TapSpec[];
  /** The node whose output ends the graph (the last node unless set). */
  output: number;
}

/** The ops that read parameters from a state_dict. */
export const PARAM_OPS = new Set(['conv', 'batchNorm', 'linear']);
