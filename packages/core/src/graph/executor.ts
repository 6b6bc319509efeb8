import * as tf from '@tensorflow/tfjs-core';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../ops/pool';
import { pad2d } from '../ops/pad';
import { channelLinear } from '../ops/channel-linear';
import { gelu, hardsigmoid } from '../ops/gelu';
import { layerNorm } from '../ops/layer-norm';
import { patchMerge } from '../ops/patch-merge';
import { transformerNode } from '../ops/transformer-node';
import type { Graph, GraphNode } from './ir';
import type { Layer } from './layers';
import { ancestors } from './shapes';

/** BatchNorm statistics: running ('eval') or of the batch ('train'). */
export type BatchNormMode = 'eval' | 'train';

/**
 * A uniform [0, 1) source: with bnMode 'train' it switches on stochastic depth (AddOp.dropPath),
 * one draw per sample and residual sum, in graph order (seeded by the caller, so runs repeat).
 */
export type DropPathRandom = () => number;

/**
 * Runs a graph on tfjs: only the nodes the requested outputs depend on, once each, releasing
 * every intermediate after its last use. Differentiable w.r.t. the input (the tape keeps its own
 * copies of what it needs, so early release is safe under tf.grad too).
 */
export function runGraph(
  graph: Graph,
  layers: Map<number, Layer>,
  x: tf.Tensor4D,
  targets: number[],
  bnMode: BatchNormMode = 'eval',
  dropPathRandom?: DropPathRandom,
): tf.Tensor[] {
  const drop = bnMode === 'train' ? dropPathRandom : undefined;
  const need = ancestors(graph, targets);
  const order = graph.nodes.filter((n) => need.has(n.id));
  const uses = new Map<number, number>();
  for (const n of order) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const t of targets) uses.set(t, (uses.get(t) ?? 0) + 1); // outputs are never released
  const values = new Map<number, tf.Tensor>();
  try {
    for (const n of order) {
      if (n.op.kind === 'input') {
        values.set(n.id, x);
        continue;
      }
      const ins = n.inputs.map((i) => values.get(i) as tf.Tensor);
      values.set(n.id, evalNode(n, ins, layers, bnMode, drop));
      for (const i of n.inputs) {
        const left = (uses.get(i) as number) - 1;
        uses.set(i, left);
        if (left === 0 && graph.nodes[i].op.kind !== 'input') {
          values.get(i)?.dispose();
          values.delete(i);
        }
      }
    }
    return targets.map((t) => {
      const v = values.get(t) as tf.Tensor;
      // a target that is the input itself, or repeated, must be a tensor of its own
      return v === x || targets.indexOf(t) !== targets.lastIndexOf(t) ? v.clone() : v;
    });
  } catch (e) {
    for (const [id, v] of values) if (graph.nodes[id].op.kind !== 'input') v.dispose();
    throw e;
  }
}

function layerOf(layers: Map<number, Layer>, n: GraphNode): Layer {
  const l = layers.get(n.id);
  if (!l) throw new Error(`internal: node ${n.id} (${n.op.kind}) has no bound layer`);
  return l;
}

/**
 * torchvision's StochasticDepth(p, 'row') in train mode: each sample's branch is kept with
 * probability 1 - p and then scaled by 1 / (1 - p), or zeroed.
 */
function dropPath(branch: tf.Tensor, p: number, random: DropPathRandom): tf.Tensor {
  const n = branch.shape[0];
  const keep = new Float32Array(n);
  for (let i = 0; i < n; i++) keep[i] = random() < 1 - p ? 1 / (1 - p) : 0;
  return tf.tidy(() => tf.mul(branch, tf.tensor(keep, [n, ...branch.shape.slice(1).map(() => 1)])));
}

function evalNode(n: GraphNode, ins: tf.Tensor[], layers: Map<number, Layer>, bnMode: BatchNormMode, random?: DropPathRandom): tf.Tensor {
  const op = n.op;
  const x = ins[0] as tf.Tensor4D;
  switch (op.kind) {
    case 'conv': {
      const l = layerOf(layers, n);
      return l.kind === 'conv' ? l.conv.forward(x) : x;
    }
    case 'batchNorm': {
      const l = layerOf(layers, n);
      if (l.kind !== 'bn') return x;
      if (bnMode === 'eval') return tf.tidy(() => tf.add(tf.mul(x, l.bn.scale), l.bn.shift));
      return tf.tidy(() => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, l.bn.eps))), l.bn.weight), l.bn.bias);
      });
    }
    case 'linear': {
      const l = layerOf(layers, n);
      if (l.kind !== 'linear') return x;
      return tf.tidy(() => {
        const y = tf.matMul(x as unknown as tf.Tensor2D, l.linear.w);
        return l.linear.b ? tf.add(y, l.linear.b) : y;
      });
    }
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'silu':
      return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
    case 'hardswish':
      return tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
    case 'hardsigmoid':
      return hardsigmoid(x);
    case 'gelu':
      return gelu(x);
    case 'layerNorm': {
      const l = layerOf(layers, n);
      return l.kind === 'layerNorm' ? layerNorm(x, l.ln.weight, l.ln.bias, l.ln.eps) : x;
    }
    case 'channelLinear': {
      const l = layerOf(layers, n);
      return l.kind === 'linear' ? channelLinear(x, l.linear.w, l.linear.b) : x;
    }
    case 'channelScale': {
      const l = layerOf(layers, n);
      return l.kind === 'scale' ? tf.mul(x, l.scale) : x;
    }
    case 'patchMerge':
      return patchMerge(x);
    case 'attention':
    case 'classToken':
    case 'posEmbed':
    case 'tokensToMap':
      return transformerNode(n, ins, layers.get(n.id));
    case 'maxPool':
      return maxPool2d(x, op);
    case 'avgPool':
      return avgPool2d(x, op);
    case 'adaptiveAvgPool':
      return adaptiveAvgPool2d(x, op.out);
    case 'pad': {
      const [t, b, l, r] = op.pads;
      const p: [number, number][] = [
        [0, 0],
        [t, b],
        [l, r],
        [0, 0],
      ];
      // pad2d: tfjs' registered MirrorPad gradient drops the mirrored border's share
      return op.mode === 'reflect' ? pad2d(x, op.pads, 'reflect') : tf.pad(x, p, op.value);
    }
    case 'affine':
      return tf.tidy(() => tf.add(tf.mul(x, tf.tensor1d(op.scale)), tf.tensor1d(op.shift)));
    case 'concat':
      return tf.concat(ins, 3);
    case 'add':
      if (random && op.dropPath) return tf.tidy(() => tf.add(dropPath(ins[0], op.dropPath as number, random), ins[1]));
      return tf.add(ins[0], ins[1]);
    case 'mul':
      return tf.mul(ins[0], ins[1]);
    case 'flatten':
      // PyTorch flattens NCHW: channel-major
      return tf.tidy(() => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1]));
    case 'input':
      return x;
    default:
      throw new Error(`internal: the tfjs executor has no '${(op as { kind: string }).kind}' yet`);
  }
}
