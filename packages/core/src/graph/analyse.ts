import type { Graph, GraphNode } from './ir';
import { attentionField, transformerParamCount } from './transformer-ops';
import { ancestors, minInputSize, spatialShapes } from './shapes';

/** Architecture-derived attributes of one node's output. */
export interface NodeAttributes {
  channels: number;
  /** Total stride (input pixels per output pixel). */
  stride: number;
  /** Receptive field in input pixels (one axis); Infinity after global pooling. */
  receptiveField: number;
  /** Convolutions on any path into this node, this node included. */
  convsBefore: number;
  /** Learned linear maps on any path into this node (see weightLayers), this node included. */
  layersBefore: number;
  /** Learnable parameters of all layers this node depends on (BN running statistics excluded). */
  paramsUpTo: number;
}

export function paramCount(n: GraphNode): number {
  const op = n.op;
  switch (op.kind) {
    case 'conv':
      return (op.outChannels * op.inChannels * op.kernel[0] * op.kernel[1]) / op.groups + (op.bias ? op.outChannels : 0);
    case 'batchNorm':
      return 2 * op.channels;
    case 'linear':
      return op.inFeatures * op.outFeatures + (op.bias ? op.outFeatures : 0);
    case 'layerNorm':
      return 2 * op.channels;
    case 'channelLinear':
      return op.inChannels * op.outChannels + (op.bias ? op.outChannels : 0);
    case 'channelScale':
      return op.channels;
    default:
      return transformerParamCount(op);
  }
}

interface Field {
  rf: number;
  jump: number;
  /** Output computed from a global pool (an SE gate): excluded from the receptive field of products. */
  global: boolean;
}

/** Receptive field and stride of every node (height axis; study networks are square). */
function fields(graph: Graph): Field[] {
  const f: Field[] = [];
  for (const n of graph.nodes) {
    const ins = n.inputs.map((i) => f[i]);
    const op = n.op;
    switch (op.kind) {
      case 'input':
        f.push({ rf: 1, jump: 1, global: false });
        break;
      case 'conv':
      case 'maxPool':
      case 'avgPool': {
        const k = op.kind === 'conv' ? op.dilation[0] * (op.kernel[0] - 1) + 1 : op.kernel[0];
        const a = ins[0];
        f.push({ rf: a.rf + (k - 1) * a.jump, jump: a.jump * op.stride[0], global: a.global });
        break;
      }
      case 'patchMerge': {
        // a 2x2 gather with stride 2: a kernel-2, stride-2 window (its zero pad adds no input pixels)
        const a = ins[0];
        f.push({ rf: a.rf + a.jump, jump: a.jump * 2, global: a.global });
        break;
      }
      case 'attention': {
        // see attentionField: Infinity for global attention, the window's span for windowed
        const a = ins[0];
        f.push({ rf: attentionField(op, a.rf, a.jump), jump: a.jump, global: a.global });
        break;
      }
      // layerNorm, channelLinear, channelScale and the activations are per-position: the default
      case 'adaptiveAvgPool':
      case 'linear':
      case 'flatten':
        f.push({ rf: Infinity, jump: ins[0].jump, global: true });
        break;
      case 'mul': {
        // multiplicative gates from a global pool do not widen the spatial receptive field
        const main = ins.filter((x) => !x.global);
        const use = main.length ? main : ins;
        f.push({ rf: Math.max(...use.map((x) => x.rf)), jump: Math.max(...use.map((x) => x.jump)), global: main.length === 0 });
        break;
      }
      default:
        f.push({
          rf: Math.max(...ins.map((x) => x.rf)),
          jump: Math.max(...ins.map((x) => x.jump)),
          global: ins.every((x) => x.global),
        });
    }
  }
  return f;
}

/** Attributes of the given nodes (all taps when omitted). */
export function analyse(graph: Graph, nodeIds: number[] = graph.taps.map((t) => t.node)): Map<number, NodeAttributes> {
  const f = fields(graph);
  const out = new Map<number, NodeAttributes>();
  for (const id of nodeIds) {
    let convs = 0;
    let layers = 0;
    let params = 0;
    for (const a of ancestors(graph, [id])) {
      const n = graph.nodes[a];
      if (n.op.kind === 'conv') convs++;
      layers += weightLayers(n);
      params += paramCount(n);
    }
    out.set(id, {
      channels: graph.nodes[id].channels,
      stride: f[id].jump,
      receptiveField: f[id].rf,
      convsBefore: convs,
      layersBefore: layers,
      paramsUpTo: params,
    });
  }
  return out;
}

/** Number of convolutions in the whole graph. */
export const totalConvs = (graph: Graph) => graph.nodes.filter((n) => n.op.kind === 'conv').length;

/**
 * The learned linear maps a node applies, the unit of relative depth: a convolution, a linear or
 * channel-linear layer counts one, an attention two (its input and output projections). For the
 * study's convolutional networks this is the convolution count; for transformers, whose blocks are
 * mostly channel-linear layers, counting convolutions alone would put every point at depth 1.
 */
export function weightLayers(n: GraphNode): number {
  const k = n.op.kind;
  if (k === 'conv' || k === 'linear' || k === 'channelLinear') return 1;
  return k === 'attention' ? 2 : 0;
}

/** Learned linear maps in the whole graph (the denominator of relative depth). */
export const totalLayers = (graph: Graph) => graph.nodes.reduce((s, n) => s + weightLayers(n), 0);

/** Parameters of the whole graph (weights, biases and BatchNorm statistics). */
export const totalParams = (graph: Graph) => graph.nodes.reduce((s, n) => s + paramCount(n), 0);

export { minInputSize, spatialShapes };
