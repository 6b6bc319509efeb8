/** The tfjs executor's step for the transformer ops (attention, classToken, posEmbed, tokensToMap). */
import type * as tf from '@tensorflow/tfjs-core';
import type { GraphNode, Pair } from '../graph/ir';
import type { Layer } from '../graph/layers';
import { attention } from './attention';
import { classToken, tokensToMap } from './pos-embed';

function need<K extends Layer['kind']>(n: GraphNode, l: Layer | undefined, kind: K): Extract<Layer, { kind: K }> {
  if (!l || l.kind !== kind) throw new Error(`internal: node ${n.id} (${n.op.kind}) has no bound ${kind} layer`);
  return l as Extract<Layer, { kind: K }>;
}

/** Evaluates a transformer node on NHWC inputs; posEmbed and tokensToMap read the grid from input 2. */
export function transformerNode(n: GraphNode, ins: tf.Tensor[], layer: Layer | undefined): tf.Tensor {
  const x = ins[0] as tf.Tensor4D;
  const grid = (): Pair => [ins[1].shape[1] as number, ins[1].shape[2] as number];
  switch (n.op.kind) {
    case 'attention':
      return attention(x, need(n, layer, 'attention').attention);
    case 'classToken':
      return classToken(x, need(n, layer, 'classToken').token);
    case 'posEmbed':
      return need(n, layer, 'posEmbed').pos.apply(x, grid());
    case 'tokensToMap':
      return tokensToMap(x, grid());
    default:
      throw new Error(`internal: '${n.op.kind}' is not a transformer op`);
  }
}
