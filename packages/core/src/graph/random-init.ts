import { fillNormal, hashSeed, mulberry32 } from '../util/random';
import { numel, type StateDict } from '../weights/state-dict';
import { expectedParams } from './params';
import type { Graph } from './ir';

/**
 * A seeded random state_dict for a graph: He-normal conv/linear weights (fan-in, ReLU gain) so
 * deep stacks keep unit-scale activations, zero biases, identity BatchNorm and LayerNorm, layer scales 1. Each key has its own
 * stream, so a parameter's values do not depend on the rest of the graph.
 */
export function randomStateDict(graph: Graph, seed: number): StateDict {
  const sd: StateDict = new Map();
  for (const p of expectedParams(graph)) {
    const data = new Float32Array(numel(p.shape));
    if (p.role === 'weight' && p.shape.length > 1) {
      const fanIn = numel(p.shape.slice(1));
      fillNormal(data, mulberry32(hashSeed(seed, p.key)), Math.sqrt(2 / fanIn));
    } else if (p.role === 'embedding') {
      // torchvision's init of class tokens, positional embeddings and relative position biases
      fillNormal(data, mulberry32(hashSeed(seed, p.key)), 0.02);
    } else if (p.role === 'weight' || p.role === 'running_var' || p.role === 'scale') {
      data.fill(1);
    }
    sd.set(p.key, { dtype: 'float32', shape: p.shape, data });
  }
  return sd;
}
