import { inputError } from '../errors';
import type { Graph, GraphNode, Op } from './ir';
import { tokenOpShape } from './transformer-ops';

/** Spatial size of one axis after `op`, exactly as PyTorch computes it; < 1 means invalid. */
export function axisOut(op: Op, size: number, axis: 0 | 1): number {
  switch (op.kind) {
    case 'conv': {
      const effK = op.dilation[axis] * (op.kernel[axis] - 1) + 1;
      return Math.floor((size + 2 * op.pad[axis] - effK) / op.stride[axis]) + 1;
    }
    case 'maxPool':
    case 'avgPool':
      return poolOut(size, op.kernel[axis], op.stride[axis], op.pad[axis], op.ceil);
    case 'adaptiveAvgPool':
      return op.out[axis];
    case 'pad':
      return size + (axis === 0 ? op.pads[0] + op.pads[1] : op.pads[2] + op.pads[3]);
    case 'linear':
    case 'flatten':
      return 1;
    case 'patchMerge':
      return Math.ceil(size / 2);
    default:
      return size;
  }
}

/** PyTorch pooling output size, including its ceil_mode rule that the last window must start inside the input or left padding. */
export function poolOut(size: number, k: number, s: number, p: number, ceil: boolean): number {
  // ceil mode allows one window over an input smaller than the kernel, as PyTorch does
  const span = size + 2 * p - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out -= 1;
  return Math.max(0, out);
}

/** [height, width]. */
export type SpatialShape = [number, number];

/**
 * Output [H, W] of every node (null for nodes not computed), for an input of h x w.
 * `upTo` restricts the computation to the ancestors of those nodes. Throws a clear error
 * naming the first node whose output would be empty.
 */
export function spatialShapes(graph: Graph, h: number, w: number, upTo?: Iterable<number>): (SpatialShape | null)[] {
  const need = upTo ? ancestors(graph, upTo) : null;
  const shapes = new Array<SpatialShape | null>(graph.nodes.length).fill(null);
  for (const n of graph.nodes) {
    if (need && !need.has(n.id)) continue;
    if (n.op.kind === 'input') {
      shapes[n.id] = [h, w];
      continue;
    }
    const ins = n.inputs.map((i) => shapes[i] as SpatialShape);
    const base = mainInput(n, ins);
    const out: SpatialShape = tokenOpShape(n, ins) ?? [axisOut(n.op, base[0], 0), axisOut(n.op, base[1], 1)];
    if (out[0] < 1 || out[1] < 1) {
      throw inputError(`input ${h}x${w}`, `too small: node ${n.id} (${describeNode(n)}) would have an empty output`);
    }
    shapes[n.id] = out;
  }
  return shapes;
}

function mainInput(n: GraphNode, ins: SpatialShape[]): SpatialShape {
  if (n.op.kind === 'concat' || n.op.kind === 'add' || n.op.kind === 'mul') {
    // mul may broadcast a 1x1 gate; the others need equal sizes
    const full = ins.filter((s) => !(n.op.kind === 'mul' && s[0] === 1 && s[1] === 1));
    const ref = full[0] ?? ins[0];
    for (const s of full) {
      if (s[0] !== ref[0] || s[1] !== ref[1]) {
        throw inputError('graph', `node ${n.id} (${n.op.kind}) joins tensors of sizes ${ins.map((x) => x.join('x')).join(', ')}`);
      }
    }
    return ref;
  }
  return ins[0];
}

export function describeNode(n: GraphNode): string {
  const op = n.op as Op & { key?: string };
  return op.key ? `${op.kind} ${op.key}` : op.kind;
}

/** The node ids needed to compute `targets` (targets included). */
export function ancestors(graph: Graph, targets: Iterable<number>): Set<number> {
  const seen = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const id = stack.pop() as number;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const i of graph.nodes[id].inputs) stack.push(i);
  }
  return seen;
}

/** Smallest square input size for which every node needed for `targets` is non-empty. */
export function minInputSize(graph: Graph, targets: Iterable<number>, limit = 2048): number {
  const t = [...targets];
  for (let s = 1; s <= limit; s++) {
    try {
      spatialShapes(graph, s, s, t);
      return s;
    } catch {
      /* too small, try the next size */
    }
  }
  return limit;
}
