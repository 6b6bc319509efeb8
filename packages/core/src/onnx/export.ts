/**
 * ONNX export of a backbone graph: the subgraph the requested taps need, with the weights of a
 * state_dict, as an opset-17 ModelProto whose outputs are the taps. Layout is NCHW as in PyTorch
 * (the 'nhwc' option wraps the graph in two transposes so tfjs callers need none); batch, height
 * and width are symbolic. Every op follows executor.ts (PyTorch semantics); the parity tests
 * compare the two on every study network.
 */
import type { Backbone } from '../contracts/backbone';
import { DplError } from '../errors';
import type { BatchNormMode } from '../graph/executor';
import type { BatchNormOp, ConvOp, Graph, GraphNode, LinearOp, PoolOp } from '../graph/ir';
import { ancestors, describeNode } from '../graph/shapes';
import type { StateDict, TensorRecord } from '../weights/state-dict';
import { floatTensor, int64Tensor, model, node, valueInfo, type AttrValue, type onnx } from './proto';
import { emitTransformerNode } from './export-attention';
import { emitChannelOp } from './export-channel';

/** Bumped whenever the exported graph for the same inputs changes (part of the cache key). */
export const ONNX_EXPORTER_VERSION = 1;

/** The exported model's input layout. */
export type TensorLayout = 'nchw' | 'nhwc';

/** One output of an exported model: its name and the graph node it reads. */
export interface OnnxOutput {
  /** The ONNX output name (the point's name). */
  name: string;
  /** The graph node it reads. */
  node: number;
}

/** Options of the ONNX export: layout, BatchNorm mode and folding, metadata. */
export interface OnnxExportOptions {
  /** Layout of the input and of every 4-D output (default 'nchw'). */
  layout?: TensorLayout;
  /** 'eval' (running statistics, default) or 'train' (batch statistics, as executor.ts). */
  batchNorm?: BatchNormMode;
  /** Fold an eval BatchNorm into the conv before it when nothing else reads the conv (default true). */
  foldBatchNorm?: boolean;
  /** Free-form metadata stored in the model (backbone id, weights provenance). */
  metadata?: Record<string, string>;
}

/** An exported ONNX model: its bytes, input and output names, layout and node counts. */
export interface OnnxModel {
  /** The serialised ModelProto. */
  bytes: Uint8Array;
  inputName: string;
  /** Output names, in the order requested. */
  outputs: string[];
  layout: TensorLayout;
  /** ONNX nodes in the graph (for reports and tests). */
  nodeCount: number;
  /** BatchNorms folded into their conv. */
  foldedBatchNorms: number;
}

export const ONNX_INPUT = 'input';

/** The error for a graph op the exporter cannot express. */
export function unsupportedOp(n: GraphNode, why: string): DplError {
  return new DplError(
    'E_ONNX_UNSUPPORTED',
    `graph node ${n.id} (${describeNode(n)}) cannot be exported to ONNX: ${why}`,
    'use the tfjs engine (--engine tfjs) for this network or point, or request an earlier point',
  );
}

const val = (id: number) => `v${id}`;

function rec(sd: StateDict, key: string): TensorRecord {
  const r = sd.get(key);
  if (!r) {
    throw new DplError('E_WEIGHTS', `ONNX export: the state_dict lacks ${key}`, 'export with the state_dict the extractor was built from');
  }
  return r;
}

/** Eval BatchNorm as per-channel scale and shift, folded in float64 as executor/layers.ts does. */
function bnScaleShift(op: BatchNormOp, sd: StateDict): { scale: Float64Array; shift: Float64Array } {
  const g = rec(sd, `${op.key}.weight`).data;
  const b = rec(sd, `${op.key}.bias`).data;
  const mean = rec(sd, `${op.key}.running_mean`).data;
  const variance = rec(sd, `${op.key}.running_var`).data;
  const scale = new Float64Array(op.channels);
  const shift = new Float64Array(op.channels);
  for (let c = 0; c < op.channels; c++) {
    scale[c] = g[c] / Math.sqrt(variance[c] + op.eps);
    shift[c] = b[c] - mean[c] * scale[c];
  }
  return { scale, shift };
}

/** ONNX pads order: all begins, then all ends. */
const pads2d = (p: [number, number]) => [p[0], p[1], p[0], p[1]];

class Emitter {
  readonly nodes: onnx.INodeProto[] = [];
  readonly inits: onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();

  /** A unique initializer name derived from `base`. */
  init(base: string, make: (name: string) => onnx.ITensorProto): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    this.inits.push(make(name));
    return name;
  }

  floats(base: string, dims: number[], data: Float32Array): string {
    return this.init(base, (n) => floatTensor(n, dims, data));
  }

  op(type: string, inputs: string[], output: string, attrs: Record<string, AttrValue> = {}): string {
    this.nodes.push(node(type, inputs, [output], attrs));
    return output;
  }
}

function emitConv(e: Emitter, op: ConvOp, sd: StateDict, input: string, output: string, fold: BatchNormOp | null): void {
  const w = rec(sd, `${op.key}.weight`);
  const bias = op.bias ? rec(sd, `${op.key}.bias`).data : null;
  let wData = w.data;
  let bData: Float32Array | null = bias;
  if (fold) {
    // y = (conv(x, W) + b) * s + t = conv(x, W * s) + (b * s + t), per output channel
    const { scale, shift } = bnScaleShift(fold, sd);
    const per = w.data.length / op.outChannels;
    wData = new Float32Array(w.data.length);
    bData = new Float32Array(op.outChannels);
    for (let o = 0; o < op.outChannels; o++) {
      for (let i = o * per; i < (o + 1) * per; i++) wData[i] = w.data[i] * scale[o];
      bData[o] = (bias ? bias[o] : 0) * scale[o] + shift[o];
    }
  }
  const inputs = [input, e.floats(`${op.key}.weight`, w.shape, wData)];
  if (bData) inputs.push(e.floats(`${op.key}.bias`, [op.outChannels], bData));
  e.op('Conv', inputs, output, {
    kernel_shape: [...op.kernel],
    strides: [...op.stride],
    pads: pads2d(op.pad),
    dilations: [...op.dilation],
    group: op.groups,
  });
}

function emitBatchNorm(e: Emitter, op: BatchNormOp, sd: StateDict, input: string, output: string, mode: BatchNormMode): void {
  const c = op.channels;
  if (mode === 'eval') {
    e.op(
      'BatchNormalization',
      [
        input,
        e.floats(`${op.key}.weight`, [c], rec(sd, `${op.key}.weight`).data),
        e.floats(`${op.key}.bias`, [c], rec(sd, `${op.key}.bias`).data),
        e.floats(`${op.key}.running_mean`, [c], rec(sd, `${op.key}.running_mean`).data),
        e.floats(`${op.key}.running_var`, [c], rec(sd, `${op.key}.running_var`).data),
      ],
      output,
      { epsilon: { float: op.eps } },
    );
    return;
  }
  // batch statistics over N, H, W with the biased variance, as tf.moments in executor.ts
  const p = output;
  const mean = e.op('ReduceMean', [input], `${p}_mean`, { axes: [0, 2, 3], keepdims: 1 });
  const centred = e.op('Sub', [input, mean], `${p}_centred`);
  const sq = e.op('Mul', [centred, centred], `${p}_sq`);
  const variance = e.op('ReduceMean', [sq], `${p}_var`, { axes: [0, 2, 3], keepdims: 1 });
  const eps = e.floats(`${op.key}.eps`, [], new Float32Array([op.eps]));
  const std = e.op('Sqrt', [e.op('Add', [variance, eps], `${p}_vareps`)], `${p}_std`);
  const normed = e.op('Div', [centred, std], `${p}_norm`);
  const scaled = e.op('Mul', [normed, e.floats(`${op.key}.weight`, [1, c, 1, 1], rec(sd, `${op.key}.weight`).data)], `${p}_scaled`);
  e.op('Add', [scaled, e.floats(`${op.key}.bias`, [1, c, 1, 1], rec(sd, `${op.key}.bias`).data)], output);
}

function emitLinear(e: Emitter, op: LinearOp, sd: StateDict, input: string, output: string): void {
  const inputs = [input, e.floats(`${op.key}.weight`, [op.outFeatures, op.inFeatures], rec(sd, `${op.key}.weight`).data)];
  if (op.bias) inputs.push(e.floats(`${op.key}.bias`, [op.outFeatures], rec(sd, `${op.key}.bias`).data));
  e.op('Gemm', inputs, output, { transB: 1 });
}

function emitPool(e: Emitter, op: PoolOp, input: string, output: string): void {
  const attrs: Record<string, AttrValue> = {
    kernel_shape: [...op.kernel],
    strides: [...op.stride],
    pads: pads2d(op.pad),
    ceil_mode: op.ceil ? 1 : 0,
  };
  // onnxruntime follows PyTorch here, including ceil_mode's rule that the last window starts
  // inside the input or the left padding and count_include_pad's divisor (overlap with the
  // zero-padded input, not the ceil overhang): pinned by test/onnx/pool.test.ts
  if (op.kind === 'avgPool') attrs.count_include_pad = op.countIncludePad ? 1 : 0;
  e.op(op.kind === 'maxPool' ? 'MaxPool' : 'AveragePool', [input], output, attrs);
}

function emitNode(
  e: Emitter,
  n: GraphNode,
  ins: string[],
  out: string,
  sd: StateDict,
  mode: BatchNormMode,
  fold: BatchNormOp | null,
): void {
  const op = n.op;
  const x = ins[0];
  switch (op.kind) {
    case 'input':
      throw new Error('internal: the input node is not emitted');
    case 'conv':
      return emitConv(e, op, sd, x, out, fold);
    case 'batchNorm':
      return emitBatchNorm(e, op, sd, x, out, mode);
    case 'linear':
      return emitLinear(e, op, sd, x, out);
    case 'maxPool':
    case 'avgPool':
      return emitPool(e, op, x, out);
    case 'adaptiveAvgPool':
      if (op.out[0] === 1 && op.out[1] === 1) {
        e.op('GlobalAveragePool', [x], out);
        return;
      }
      // the bins depend on the input size, which is symbolic in the exported model
      throw unsupportedOp(
        n,
        `adaptive average pooling to ${op.out[0]}x${op.out[1]} needs fixed input sizes (only global pooling is exported)`,
      );
    case 'relu':
      e.op('Relu', [x], out);
      return;
    case 'relu6': {
      const lo = e.init('relu6.min', (name) => floatTensor(name, [], new Float32Array([0])));
      const hi = e.init('relu6.max', (name) => floatTensor(name, [], new Float32Array([6])));
      e.op('Clip', [x, lo, hi], out);
      return;
    }
    case 'sigmoid':
      e.op('Sigmoid', [x], out);
      return;
    case 'tanh':
      e.op('Tanh', [x], out);
      return;
    case 'silu':
      // onnxruntime fuses Sigmoid + Mul into one kernel
      e.op('Mul', [x, e.op('Sigmoid', [x], `${out}_sigmoid`)], out);
      return;
    case 'hardswish':
      e.op('HardSwish', [x], out);
      return;
    case 'pad': {
      const [t, b, l, r] = op.pads;
      const pads = e.init(`${out}.pads`, (name) => int64Tensor(name, [8], [0, 0, t, l, 0, 0, b, r]));
      const inputs = [x, pads];
      if (op.mode === 'constant') inputs.push(e.init(`${out}.value`, (name) => floatTensor(name, [], new Float32Array([op.value]))));
      e.op('Pad', inputs, out, { mode: op.mode });
      return;
    }
    case 'affine': {
      const c = op.scale.length;
      const scale = e.floats(`${out}.scale`, [1, c, 1, 1], Float32Array.from(op.scale));
      const shift = e.floats(`${out}.shift`, [1, c, 1, 1], Float32Array.from(op.shift));
      e.op('Add', [e.op('Mul', [x, scale], `${out}_scaled`), shift], out);
      return;
    }
    case 'concat':
      e.op('Concat', ins, out, { axis: 1 });
      return;
    case 'add':
      e.op('Add', ins, out);
      return;
    case 'mul':
      e.op('Mul', ins, out);
      return;
    case 'flatten':
      // NCHW flatten is PyTorch's channel-major order
      e.op('Flatten', [x], out, { axis: 1 });
      return;
    case 'gelu':
    case 'hardsigmoid':
    case 'layerNorm':
    case 'channelLinear':
    case 'channelScale':
    case 'patchMerge':
      return emitChannelOp(e, n, x, out, sd, rec);
    default: {
      if (emitTransformerNode(e, n, ins, out, sd)) return;
      const kind = (op as { kind: string }).kind;
      throw unsupportedOp(n, `op '${kind}' has no ONNX form`);
    }
  }
}

/** Ranks of node outputs: 2 from flatten/linear onwards, else 4. */
function ranks(graph: Graph, need: Set<number>): Map<number, number> {
  const r = new Map<number, number>();
  for (const n of graph.nodes) {
    if (!need.has(n.id)) continue;
    const k = n.op.kind;
    r.set(n.id, k === 'flatten' || k === 'linear' ? 2 : n.inputs.length ? (r.get(n.inputs[0]) ?? 4) : 4);
  }
  return r;
}

/** Exports the part of `graph` that `outputs` need, with the weights in `sd`. */
export function exportGraphOnnx(graph: Graph, sd: StateDict, outputs: OnnxOutput[], opts: OnnxExportOptions = {}): OnnxModel {
  if (!outputs.length) throw new DplError('E_INPUT', 'ONNX export: no outputs requested', 'name at least one extraction point');
  const names = outputs.map((o) => o.name);
  const dup = names.find((v, i) => names.indexOf(v) !== i);
  if (dup !== undefined) throw new DplError('E_INPUT', `ONNX export: output '${dup}' is requested twice`, 'name each point once');
  const layout = opts.layout ?? 'nchw';
  const mode = opts.batchNorm ?? 'eval';
  const foldOn = (opts.foldBatchNorm ?? true) && mode === 'eval';
  const targets = outputs.map((o) => o.node);
  const need = ancestors(graph, targets);
  const consumers = new Map<number, number[]>();
  for (const n of graph.nodes) {
    if (!need.has(n.id)) continue;
    for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n.id]);
  }
  const targetSet = new Set(targets);
  const rank = ranks(graph, need);
  const inputNode = graph.nodes.find((n) => n.op.kind === 'input');
  if (!inputNode) throw new Error('internal: the graph has no input node');
  const inChannels = inputNode.channels;

  const e = new Emitter();
  const value = new Map<number, string>();
  if (layout === 'nhwc') value.set(inputNode.id, e.op('Transpose', [ONNX_INPUT], 'input_nchw', { perm: [0, 3, 1, 2] }));
  else value.set(inputNode.id, ONNX_INPUT);

  const folded = new Set<number>();
  for (const n of graph.nodes) {
    if (!need.has(n.id) || n.op.kind === 'input' || folded.has(n.id)) continue;
    const ins = n.inputs.map((i) => {
      const v = value.get(i);
      if (v === undefined) throw new Error(`internal: node ${n.id} reads node ${i} before it is computed`);
      return v;
    });
    let fold: BatchNormOp | null = null;
    let out = val(n.id);
    if (n.op.kind === 'conv' && foldOn && !targetSet.has(n.id)) {
      const users = consumers.get(n.id) ?? [];
      const bn = users.length === 1 ? graph.nodes[users[0]] : null;
      if (bn && bn.op.kind === 'batchNorm') {
        fold = bn.op;
        folded.add(bn.id);
        out = val(bn.id);
        value.set(bn.id, out);
      }
    }
    emitNode(e, n, ins, out, sd, mode, fold);
    value.set(n.id, out);
  }

  const graphOutputs: onnx.IValueInfoProto[] = [];
  for (const o of outputs) {
    const src = value.get(o.node) as string;
    const n = graph.nodes[o.node];
    if (rank.get(o.node) === 2) {
      e.op('Identity', [src], o.name);
      graphOutputs.push(valueInfo(o.name, ['batch', n.channels]));
    } else if (layout === 'nhwc') {
      e.op('Transpose', [src], o.name, { perm: [0, 2, 3, 1] });
      graphOutputs.push(valueInfo(o.name, ['batch', `${o.name}_height`, `${o.name}_width`, n.channels]));
    } else {
      e.op('Identity', [src], o.name);
      graphOutputs.push(valueInfo(o.name, ['batch', n.channels, `${o.name}_height`, `${o.name}_width`]));
    }
  }
  const inputDims: (number | string)[] =
    layout === 'nhwc' ? ['batch', 'height', 'width', inChannels] : ['batch', inChannels, 'height', 'width'];
  const bytes = model(
    { name: 'dpl_backbone', node: e.nodes, initializer: e.inits, input: [valueInfo(ONNX_INPUT, inputDims)], output: graphOutputs },
    String(ONNX_EXPORTER_VERSION),
    { layout, batchNorm: mode, ...(opts.metadata ?? {}) },
  );
  return { bytes, inputName: ONNX_INPUT, outputs: names, layout, nodeCount: e.nodes.length, foldedBatchNorms: folded.size };
}

/** Exports a backbone up to `points` (names, aliases, 'paper'), outputs named by point. */
export function exportBackboneOnnx(backbone: Backbone, sd: StateDict, points: string[], opts: OnnxExportOptions = {}): OnnxModel {
  const pts = backbone.resolvePoints(points);
  return exportGraphOnnx(
    backbone.graph(),
    sd,
    pts.map((p) => ({ name: p.name, node: p.node })),
    { ...opts, metadata: { backbone: backbone.id, ...(opts.metadata ?? {}) } },
  );
}
