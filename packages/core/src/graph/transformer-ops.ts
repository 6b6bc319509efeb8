/**
 * What the graph interpreters need to know about the transformer ops attention, classToken,
 * posEmbed and tokensToMap (shapes, parameters, analysis), kept here so that the shared
 * switch statements in shapes.ts, params.ts and analyse.ts stay one line per op.
 */
import { inputError } from '../errors';
import { attentionKeys } from '../ops/attention';
import type { GraphNode, Op } from './ir';

type SpatialShape = [number, number];

/** A state_dict entry of a transformer op: a ParamSpec (params.ts, which imports this file). */
interface ParamSpec {
  key: string;
  shape: number[];
  role: 'weight' | 'bias' | 'embedding' | 'buffer';
}

/**
 * Output [H, W] of a token op, or undefined for other ops. A token row is a map of height 1:
 * classToken turns an h x w patch map into [1, 1 + h*w]; posEmbed keeps its row and checks it
 * against the grid of its second input (the patch map); tokensToMap returns that grid.
 */
export function tokenOpShape(n: GraphNode, ins: SpatialShape[]): SpatialShape | undefined {
  switch (n.op.kind) {
    case 'classToken':
      return [1, 1 + ins[0][0] * ins[0][1]];
    case 'posEmbed':
    case 'tokensToMap': {
      const [row, grid] = ins;
      if (row[0] !== 1 || row[1] !== 1 + grid[0] * grid[1]) {
        throw inputError(
          'graph',
          `node ${n.id} (${n.op.kind}) reads a ${row.join('x')} token row that is not a ${grid.join('x')} patch grid plus a class token`,
        );
      }
      return n.op.kind === 'posEmbed' ? row : [grid[0], grid[1]];
    }
    default:
      return undefined;
  }
}

/** The state_dict entries a transformer op reads (empty for other ops). */
export function transformerParams(op: Op): ParamSpec[] {
  switch (op.kind) {
    case 'attention': {
      const c = op.channels;
      const k = attentionKeys(op);
      const out: ParamSpec[] = [
        { key: k.inW, shape: [3 * c, c], role: 'weight' },
        { key: k.inB, shape: [3 * c], role: 'bias' },
        { key: k.outW, shape: [c, c], role: 'weight' },
        { key: k.outB, shape: [c], role: 'bias' },
      ];
      if (op.relativePositionBias && op.window) {
        const [wh, ww] = op.window;
        out.push({ key: `${op.key}.relative_position_bias_table`, shape: [(2 * wh - 1) * (2 * ww - 1), op.heads], role: 'embedding' });
      }
      return out;
    }
    case 'classToken':
      return [{ key: op.param, shape: [1, 1, op.channels], role: 'embedding' }];
    case 'posEmbed':
      return [{ key: op.param, shape: [1, 1 + op.grid[0] * op.grid[1], op.channels], role: 'embedding' }];
    default:
      return [];
  }
}

/**
 * Buffers a torchvision checkpoint holds that the graph recomputes instead of reading: Swin's
 * relative_position_index (a function of the window alone, see ops/attention.ts). A checkpoint
 * may have them (with this shape) or not.
 */
export function optionalBuffers(op: Op): ParamSpec[] {
  if (op.kind !== 'attention' || !op.relativePositionBias || !op.window) return [];
  const t = op.window[0] * op.window[1];
  return [{ key: `${op.key}.relative_position_index`, shape: [t * t], role: 'buffer' }];
}

/** Learnable parameters of a transformer op (0 for other ops). */
export function transformerParamCount(op: Op): number {
  return transformerParams(op).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Receptive field of an attention node (input pixels along one axis, the largest over output
 * positions) from its input's field `rf` at stride `jump`; the stride is unchanged. Global
 * attention: every output depends on every input position, so Infinity (the whole input, as after
 * a global pool). Windowed attention of a wh-position window: an output depends on the wh
 * positions of its window, so the first window op after per-position layers (rf <= jump) adds
 * (wh - 1) * jump like a kernel of wh; a later one adds wh * jump, because its windows are offset
 * from the windows before (Swin alternates the shift, and a window smaller than the map is a
 * shifted one's neighbour), so each of its windows straddles two earlier ones. Exact for Swin's
 * alternating W/SW chain within a stage (7, 14, 21 patches ...), an estimate otherwise; the
 * analysis is size-free, so it does not know that a map no larger than the window is attended
 * globally. See docs/ARCHITECTURE.md.
 */
export function attentionField(op: Op, rf: number, jump: number): number {
  if (op.kind !== 'attention') return rf;
  if (!op.window) return Infinity;
  const span = op.window[0];
  return rf <= jump ? rf + (span - 1) * jump : rf + span * jump;
}
