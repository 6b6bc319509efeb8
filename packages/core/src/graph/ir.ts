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
export type ActivationKind = 'relu' | 'relu6' | 'silu' | 'sigmoid' | 'hardswish' | 'hardsigmoid' | 'tanh' | 'gelu';
// 'gelu' is PyTorch's exact GELU, x * (1 + erf(x / sqrt 2)) / 2 (not the tanh approximation);
// 'hardsigmoid' is relu6(x + 3) / 6, as torch.nn.Hardsigmoid.

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

/**
 * LayerNorm over the channel axis of a map or token row: PyTorch's LayerNorm(C) on channels-last
 * data (ViT, Swin, ConvNeXt's blocks) and ConvNeXt's LayerNorm2d. Reads `<key>.weight`, `<key>.bias` [C].
 */
export interface LayerNormOp {
  kind: 'layerNorm';
  key: string;
  channels: number;
  eps: number;
}

/**
 * PyTorch's Linear applied to every position's channel vector (nn.Linear on channels-last data):
 * a 1x1 convolution whose weight is stored as `<key>.weight` [out, in] (and `<key>.bias` [out]).
 */
export interface ChannelLinearOp {
  kind: 'channelLinear';
  key: string;
  inChannels: number;
  outChannels: number;
  bias: boolean;
}

/** Multiplies every channel by a learned factor: ConvNeXt's layer_scale. Reads the exact key `param` (shape [C, 1, 1] or [C]). */
export interface ChannelScaleOp {
  kind: 'channelScale';
  param: string;
  channels: number;
  /** The stored shape (torchvision's layer_scale is [C, 1, 1]). */
  shape: number[];
}

/**
 * Multi-head self-attention over the positions of a map or token row (PyTorch semantics, eval
 * mode: no dropout), written from matrix multiplies and softmax.
 * - params 'mha': nn.MultiheadAttention's `<key>.in_proj_weight` [3C, C], `<key>.in_proj_bias` [3C],
 *   `<key>.out_proj.weight` [C, C], `<key>.out_proj.bias` [C] (ViT).
 * - params 'qkv': `<key>.qkv.weight` [3C, C], `<key>.qkv.bias`, `<key>.proj.weight` [C, C],
 *   `<key>.proj.bias` (Swin's ShiftedWindowAttention); with `relativePositionBias`, also
 *   `<key>.relative_position_bias_table` [(2*wh-1)*(2*ww-1), heads].
 * Without `window` every position attends to every other (global). With `window`, torchvision's
 * shifted_window_attention: zero-pad H, W up to multiples of the window, roll by -shift (a shift is
 * dropped on an axis whose padded size is <= the window), attend within windows (masking pairs that
 * came from different regions when shifted), roll back, crop.
 */
export interface AttentionOp {
  kind: 'attention';
  key: string;
  channels: number;
  heads: number;
  params: 'mha' | 'qkv';
  window?: Pair;
  shift?: Pair;
  relativePositionBias?: boolean;
}

/**
 * Swin's PatchMerging gather: zero-pads H and W to even sizes and concatenates x[0::2, 0::2],
 * x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] on the channel axis: [N, H, W, C] -> [N, ceil(H/2), ceil(W/2), 4C].
 */
export interface PatchMergeOp {
  kind: 'patchMerge';
}

/**
 * ViT's token row: a map [N, h, w, C] of patch embeddings becomes [N, 1, 1 + h*w, C] (row-major
 * patches) with the learned class token (exact key `param`, shape [1, 1, C]) in front. Token rows
 * are maps of height 1, so every per-position op (layer norm, channel linear, attention) reads them.
 */
export interface ClassTokenOp {
  kind: 'classToken';
  param: string;
  channels: number;
}

/**
 * Adds ViT's learned positional embedding (exact key `param`, shape [1, 1 + gh*gw, C], trained on a
 * gh x gw patch grid) to a token row. Inputs: [tokens, patchMap]; the patch map (the map the row was
 * made from) gives this input's grid. For another grid the patch part is resized as torchvision's
 * interpolate_embeddings does (bicubic, align_corners=True) and the class token's embedding kept.
 */
export interface PosEmbedOp {
  kind: 'posEmbed';
  param: string;
  channels: number;
  grid: Pair;
}

/**
 * A token row back to a map: drops the class token and reshapes [N, 1, 1 + h*w, C] to [N, h, w, C].
 * Inputs: [tokens, patchMap]; the patch map gives h and w. This is how a transformer's point is a map.
 */
export interface TokensToMapOp {
  kind: 'tokensToMap';
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
  | { kind: 'flatten' }
  | LayerNormOp
  | ChannelLinearOp
  | ChannelScaleOp
  | AttentionOp
  | PatchMergeOp
  | ClassTokenOp
  | PosEmbedOp
  | TokensToMapOp;

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
  /** The torchvision module (dotted named_modules() name) whose output this tap equals (see ExtractionPoint.torchModule). */
  torchModule?: string;
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
export const PARAM_OPS = new Set([
  'conv',
  'batchNorm',
  'linear',
  'layerNorm',
  'channelLinear',
  'channelScale',
  'attention',
  'classToken',
  'posEmbed',
]);
