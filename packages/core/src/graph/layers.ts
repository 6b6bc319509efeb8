import * as tf from '@tensorflow/tfjs-core';
import { FrozenConv2d } from '../ops/conv-frozen';
import { FrozenGroupedConv2d } from '../ops/grouped';
import { attentionLayer, disposeAttentionLayer, type AttentionLayer } from '../ops/attention';
import { PosEmbedLayer } from '../ops/pos-embed';
import type { StateDict, TensorRecord } from '../weights/state-dict';
import type { BatchNormOp, ChannelLinearOp, ChannelScaleOp, ConvOp, Graph, LayerNormOp, LinearOp } from './ir';

/** A frozen conv in tfjs form. */
export interface ConvLayer {
  forward(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/** Eval-mode BatchNorm folded to x * scale + shift; the raw tensors serve train mode. */
export interface BatchNormLayer {
  scale: tf.Tensor1D;
  shift: tf.Tensor1D;
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
  eps: number;
}

/** A linear layer's weights, ready for the executor. */
export interface LinearLayer {
  /** [in, out] */
  w: tf.Tensor2D;
  b: tf.Tensor1D | null;
}

/** LayerNorm's affine parameters [C] and eps. */
export interface LayerNormLayer {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
  eps: number;
}

/** A parameterised node's weights, ready for the executor (by node id); channelLinear nodes hold a 'linear' layer. */
export type Layer =
  | { kind: 'conv'; conv: ConvLayer }
  | { kind: 'bn'; bn: BatchNormLayer }
  | { kind: 'linear'; linear: LinearLayer }
  | { kind: 'layerNorm'; ln: LayerNormLayer }
  | { kind: 'scale'; scale: tf.Tensor1D }
  | { kind: 'attention'; attention: AttentionLayer }
  | { kind: 'classToken'; token: tf.Tensor4D }
  | { kind: 'posEmbed'; pos: PosEmbedLayer };

const rec = (sd: StateDict, key: string): TensorRecord => {
  const r = sd.get(key);
  if (!r) throw new Error(`internal: ${key} missing after validation`);
  return r;
};

function convLayer(op: ConvOp, sd: StateDict): ConvLayer {
  const wr = rec(sd, `${op.key}.weight`);
  // PyTorch OIHW -> tfjs HWIO, once at load time
  const w = tf.tidy(() => tf.transpose(tf.tensor4d(wr.data, wr.shape as [number, number, number, number]), [2, 3, 1, 0]) as tf.Tensor4D);
  const b = op.bias ? tf.tensor1d(rec(sd, `${op.key}.bias`).data) : null;
  const spec = { stride: op.stride, pad: op.pad, dilation: op.dilation };
  // grouped (ResNeXt) and depthwise (EfficientNet) convs have their own forward-op gradients
  return op.groups === 1 ? new FrozenConv2d(w, b, spec) : new FrozenGroupedConv2d(w, b, { ...spec, groups: op.groups });
}

function bnLayer(op: BatchNormOp, sd: StateDict): BatchNormLayer {
  const g = rec(sd, `${op.key}.weight`).data;
  const beta = rec(sd, `${op.key}.bias`).data;
  const mean = rec(sd, `${op.key}.running_mean`).data;
  const variance = rec(sd, `${op.key}.running_var`).data;
  const scale = new Float32Array(op.channels);
  const shift = new Float32Array(op.channels);
  for (let c = 0; c < op.channels; c++) {
    // computed in float64, as PyTorch's CPU kernel folds it
    const s = g[c] / Math.sqrt(variance[c] + op.eps);
    scale[c] = s;
    shift[c] = beta[c] - mean[c] * s;
  }
  return { scale: tf.tensor1d(scale), shift: tf.tensor1d(shift), weight: tf.tensor1d(g), bias: tf.tensor1d(beta), eps: op.eps };
}

function linearLayer(op: LinearOp, sd: StateDict): LinearLayer {
  const wr = rec(sd, `${op.key}.weight`);
  const w = tf.tidy(() => tf.transpose(tf.tensor2d(wr.data, [op.outFeatures, op.inFeatures])) as tf.Tensor2D);
  return { w, b: op.bias ? tf.tensor1d(rec(sd, `${op.key}.bias`).data) : null };
}

function channelLinearLayer(op: ChannelLinearOp, sd: StateDict): LinearLayer {
  const wr = rec(sd, `${op.key}.weight`);
  const w = tf.tidy(() => tf.transpose(tf.tensor2d(wr.data, [op.outChannels, op.inChannels])) as tf.Tensor2D);
  return { w, b: op.bias ? tf.tensor1d(rec(sd, `${op.key}.bias`).data) : null };
}

const layerNormLayer = (op: LayerNormOp, sd: StateDict): LayerNormLayer => ({
  weight: tf.tensor1d(rec(sd, `${op.key}.weight`).data),
  bias: tf.tensor1d(rec(sd, `${op.key}.bias`).data),
  eps: op.eps,
});

// stored [C, 1, 1] (or [C]): C factors either way
const scaleLayer = (op: ChannelScaleOp, sd: StateDict): tf.Tensor1D => tf.tensor1d(rec(sd, op.param).data);

/** tfjs layers for the parameterised nodes in `nodes` (all when omitted). */
export function buildLayers(graph: Graph, sd: StateDict, nodes?: Set<number>): Map<number, Layer> {
  const layers = new Map<number, Layer>();
  for (const n of graph.nodes) {
    if (nodes && !nodes.has(n.id)) continue;
    const op = n.op;
    if (op.kind === 'conv') layers.set(n.id, { kind: 'conv', conv: convLayer(op, sd) });
    else if (op.kind === 'batchNorm') layers.set(n.id, { kind: 'bn', bn: bnLayer(op, sd) });
    else if (op.kind === 'linear') layers.set(n.id, { kind: 'linear', linear: linearLayer(op, sd) });
    else if (op.kind === 'channelLinear') layers.set(n.id, { kind: 'linear', linear: channelLinearLayer(op, sd) });
    else if (op.kind === 'layerNorm') layers.set(n.id, { kind: 'layerNorm', ln: layerNormLayer(op, sd) });
    else if (op.kind === 'channelScale') layers.set(n.id, { kind: 'scale', scale: scaleLayer(op, sd) });
    else if (op.kind === 'attention') layers.set(n.id, { kind: 'attention', attention: attentionLayer(op, sd) });
    else if (op.kind === 'classToken')
      layers.set(n.id, { kind: 'classToken', token: tf.tensor4d(rec(sd, op.param).data, [1, 1, 1, op.channels]) });
    else if (op.kind === 'posEmbed')
      layers.set(n.id, { kind: 'posEmbed', pos: new PosEmbedLayer(rec(sd, op.param).data, op.channels, op.grid) });
  }
  return layers;
}

export function disposeLayers(layers: Map<number, Layer>): void {
  for (const l of layers.values()) {
    if (l.kind === 'conv') l.conv.dispose();
    else if (l.kind === 'bn') tf.dispose([l.bn.scale, l.bn.shift, l.bn.weight, l.bn.bias]);
    else if (l.kind === 'linear') tf.dispose([l.linear.w, ...(l.linear.b ? [l.linear.b] : [])]);
    else if (l.kind === 'layerNorm') tf.dispose([l.ln.weight, l.ln.bias]);
    else if (l.kind === 'scale') l.scale.dispose();
    else if (l.kind === 'attention') disposeAttentionLayer(l.attention);
    else if (l.kind === 'classToken') l.token.dispose();
    else if (l.kind === 'posEmbed') l.pos.dispose();
  }
  layers.clear();
}
