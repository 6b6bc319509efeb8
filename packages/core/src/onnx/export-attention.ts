/**
 * ONNX (opset 17, NCHW) for the transformer ops: attention, classToken, posEmbed, tokensToMap,
 * following ops/attention.ts and ops/pos-embed.ts. Height and width stay symbolic, so every size
 * that depends on them (Swin's padding, the shift rule, the number of windows, the shifted-window
 * mask, ViT's resized positional embedding) is computed inside the model from Shape; only what is
 * size-free is a constant: projections, the relative position bias (gathered from the table at
 * export), the class token and the trained positional embedding. Token rows are [N, C, 1, 1 + h*w].
 */
import type { AttentionOp, ClassTokenOp, GraphNode, PosEmbedOp } from '../graph/ir';
import { attentionKeys, relativePositionBias } from '../ops/attention';
import type { StateDict, TensorRecord } from '../weights/state-dict';
import { DplError } from '../errors';
import { int64Tensor, floatTensor, type AttrValue, type onnx } from './proto';

/** What the emitters need of export.ts's Emitter. */
export interface OnnxEmitter {
  init(base: string, make: (name: string) => onnx.ITensorProto): string;
  floats(base: string, dims: number[], data: Float32Array): string;
  op(type: string, inputs: string[], output: string, attrs?: Record<string, AttrValue>): string;
}

const INT64_MAX = Number.MAX_SAFE_INTEGER; // Slice clamps ends to the axis size

function rec(sd: StateDict, key: string): TensorRecord {
  const r = sd.get(key);
  if (!r)
    throw new DplError('E_WEIGHTS', `ONNX export: the state_dict lacks ${key}`, 'export with the state_dict the extractor was built from');
  return r;
}

/** Small helpers naming every intermediate after the node's output. */
class Builder {
  private k = 0;
  constructor(
    readonly e: OnnxEmitter,
    readonly out: string,
  ) {}
  name(what: string): string {
    return `${this.out}_${what}_${this.k++}`;
  }
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, what = type.toLowerCase()): string {
    return this.e.op(type, inputs, this.name(what), attrs);
  }
  ints(values: number[]): string {
    return this.e.init(`${this.out}.i64`, (n) => int64Tensor(n, [values.length], values));
  }
  scalarFloat(v: number): string {
    return this.e.init(`${this.out}.f32`, (n) => floatTensor(n, [], new Float32Array([v])));
  }
  /** 0 .. size - 1 for a [1] int64 size. */
  range(size: string): string {
    const scalar = (v: number) => this.e.init(`${this.out}.i64s`, (n) => int64Tensor(n, [], [v]));
    return this.op('Range', [scalar(0), this.op('Squeeze', [size]), scalar(1)], {}, 'range');
  }
  /** dims [start, end) of x's shape, as an int64 vector. */
  dims(x: string, start: number, end: number): string {
    return this.op('Shape', [x], { start, end }, 'shape');
  }
  reshape(x: string, shape: string, what = 'reshape'): string {
    return this.op('Reshape', [x, shape], {}, what);
  }
  transpose(x: string, perm: number[]): string {
    return this.op('Transpose', [x], { perm }, 'transpose');
  }
  concat(xs: string[], axis = 0): string {
    return this.op('Concat', xs, { axis }, 'concat');
  }
}

/** PyTorch [out, in] weight -> [in, out] initializer (x @ W^T as a MatMul). */
function transposed(data: Float32Array, rows: number, cols: number, from = 0): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[from + r * cols + c];
  return t;
}

/**
 * Attention within groups: x [B, T, C] -> [B, T, C]. `addToLogits` gets [B, heads, T, T] logits
 * (q already scaled) and returns them with biases and masks added.
 */
function attend(b: Builder, op: AttentionOp, sd: StateDict, x: string, addToLogits?: (logits: string) => string): string {
  const c = op.channels;
  const h = op.heads;
  const d = c / h;
  const k = attentionKeys(op);
  const inW = rec(sd, k.inW).data;
  const inB = rec(sd, k.inB).data;
  const heads = (i: number, name: string) => {
    const w = b.e.floats(`${op.key}.${name}_weight_t`, [c, c], transposed(inW, c, c, i * c * c));
    const bias = b.e.floats(`${op.key}.${name}_bias`, [c], inB.slice(i * c, (i + 1) * c));
    const y = b.op('Add', [b.op('MatMul', [x, w]), bias]);
    return b.transpose(b.reshape(y, b.ints([0, 0, h, d])), [0, 2, 1, 3]); // [B, heads, T, d]
  };
  const q = b.op('Mul', [heads(0, 'q'), b.scalarFloat(d ** -0.5)], {}, 'qscaled');
  const kT = b.transpose(heads(1, 'k'), [0, 1, 3, 2]);
  const v = heads(2, 'v');
  let logits = b.op('MatMul', [q, kT], {}, 'logits');
  if (addToLogits) logits = addToLogits(logits);
  const p = b.op('Softmax', [logits], { axis: -1 }, 'softmax');
  const y = b.reshape(b.transpose(b.op('MatMul', [p, v]), [0, 2, 1, 3]), b.ints([0, 0, c])); // [B, T, C]
  const wo = b.e.floats(`${k.outW}_t`, [c, c], transposed(rec(sd, k.outW).data, c, c));
  const bo = b.e.floats(k.outB, [c], rec(sd, k.outB).data);
  return b.op('Add', [b.op('MatMul', [y, wo]), bo]);
}

function emitGlobalAttention(b: Builder, op: AttentionOp, sd: StateDict, x: string): void {
  const tokens = b.transpose(b.reshape(x, b.ints([0, 0, -1])), [0, 2, 1]); // [N, H*W, C]
  const y = attend(b, op, sd, tokens);
  b.e.op('Reshape', [b.transpose(y, [0, 2, 1]), b.dims(x, 0, 4)], b.out);
}

/** torch.roll along `axis` by a dynamic amount `by` ([1] int64) of a `size` ([1] int64) axis: gathers (i - by) mod size. */
function roll(b: Builder, x: string, axis: number, size: string, by: string, sign: 1 | -1): string {
  // element i of torch.roll(x, s) is element (i - s) mod size; a roll by -s reads (i + s) mod size
  const src = b.op('Mod', [b.op(sign < 0 ? 'Add' : 'Sub', [b.op('Add', [b.range(size), size]), by]), size]);
  return b.op('Gather', [x, src], { axis }, 'roll');
}

/** Region labels of one axis of the rolled, padded map: (i >= size - window) + (i >= size - shift). */
function labels(b: Builder, size: string, window: number, shift: string): string {
  const idx = b.range(size);
  const ge = (bound: string) => b.op('Cast', [b.op('GreaterOrEqual', [idx, bound])], { to: 7 }, 'ge');
  return b.op('Add', [ge(b.op('Sub', [size, b.ints([window])])), ge(b.op('Sub', [size, shift]))]);
}

function emitWindowAttention(b: Builder, op: AttentionOp, sd: StateDict, xNchw: string): void {
  const window = op.window as [number, number];
  const [wh, ww] = window;
  const shift = op.shift ?? [0, 0];
  if (shift[0] >= wh || shift[1] >= ww) {
    // the in-model mask assumes torchvision's three regions per axis (a shift below the window, as Swin's)
    throw new DplError(
      'E_ONNX_UNSUPPORTED',
      `graph op attention ${op.key} cannot be exported to ONNX: shift ${shift.join('x')} is not below window ${wh}x${ww}`,
      'use the tfjs engine (--engine tfjs) for this network',
    );
  }
  const c = op.channels;
  const t = wh * ww;
  const x = b.transpose(xNchw, [0, 2, 3, 1]); // NHWC, as torchvision
  const hh = b.dims(x, 1, 2);
  const wd = b.dims(x, 2, 3);
  const padOf = (size: string, w: number) => b.op('Mod', [b.op('Sub', [b.ints([w]), b.op('Mod', [size, b.ints([w])])]), b.ints([w])]);
  const padB = padOf(hh, wh);
  const padR = padOf(wd, ww);
  const pads = b.concat([b.ints([0, 0, 0, 0, 0]), padB, padR, b.ints([0])]);
  let y = b.op('Pad', [x, pads], { mode: 'constant' });
  const hp = b.op('Add', [hh, padB]);
  const wp = b.op('Add', [wd, padR]);
  // torchvision drops the shift on an axis whose padded size is <= the window
  const eff = (size: string, w: number, s: number) =>
    b.op('Mul', [b.ints([s]), b.op('Cast', [b.op('Greater', [size, b.ints([w])])], { to: 7 })]);
  const shifted = shift[0] > 0 || shift[1] > 0;
  const sh = eff(hp, wh, shift[0]);
  const sw = eff(wp, ww, shift[1]);
  if (shifted) y = roll(b, roll(b, y, 1, hp, sh, -1), 2, wp, sw, -1);
  const nh = b.op('Div', [hp, b.ints([wh])]);
  const nw = b.op('Div', [wp, b.ints([ww])]);
  const nW = b.op('Mul', [nh, nw]);
  // partition: [N, Hp, Wp, C] -> [N*nh, wh, nw, ww*C] -> [N*nh, nw, wh, ww*C] -> [N*nW, T, C]
  const parts = b.reshape(b.transpose(b.reshape(y, b.concat([b.ints([-1, wh]), nw, b.ints([ww * c])])), [0, 2, 1, 3]), b.ints([-1, t, c]));
  let mask: string | null = null;
  if (shifted) {
    // torchvision's mask: -100 between positions of a window that came from different regions
    const lh = labels(b, hp, wh, sh);
    const lw = labels(b, wp, ww, sw);
    const grid = b.op('Add', [b.op('Mul', [b.op('Unsqueeze', [lh, b.ints([1])]), b.ints([3])]), b.op('Unsqueeze', [lw, b.ints([0])])]);
    const win = b.reshape(b.transpose(b.reshape(grid, b.concat([nh, b.ints([wh]), nw, b.ints([ww])])), [0, 2, 1, 3]), b.ints([-1, t]));
    const same = b.op('Equal', [b.op('Unsqueeze', [win, b.ints([2])]), b.op('Unsqueeze', [win, b.ints([1])])]);
    mask = b.op('Unsqueeze', [b.op('Where', [same, b.scalarFloat(0), b.scalarFloat(-100)]), b.ints([1])]); // [nW, 1, T, T]
  }
  let bias: string | null = null;
  if (op.relativePositionBias) {
    const table = rec(sd, `${op.key}.relative_position_bias_table`).data;
    bias = b.e.floats(`${op.key}.relative_position_bias`, [op.heads, t, t], relativePositionBias(table, op.heads, window));
  }
  const add =
    bias || mask
      ? (logits: string) => {
          // [N*nW, heads, T, T] -> [N, nW, heads, T, T]: bias per head, then the mask per window
          let z = b.reshape(logits, b.concat([b.ints([-1]), nW, b.ints([op.heads, t, t])]));
          if (bias) z = b.op('Add', [z, bias]);
          if (mask) z = b.op('Add', [z, mask]);
          return b.reshape(z, b.ints([-1, op.heads, t, t]));
        }
      : undefined;
  const out = attend(b, op, sd, parts, add);
  // merge: [N*nh, nw, wh, ww*C] -> [N*nh, wh, nw, ww*C] -> [N, Hp, Wp, C]
  let m = b.reshape(
    b.transpose(b.reshape(out, b.concat([b.ints([-1]), nw, b.ints([wh, ww * c])])), [0, 2, 1, 3]),
    b.concat([b.ints([-1]), hp, wp, b.ints([c])]),
  );
  if (shifted) m = roll(b, roll(b, m, 1, hp, sh, 1), 2, wp, sw, 1);
  const crop = b.op('Slice', [m, b.ints([0, 0]), b.concat([hh, wd]), b.ints([1, 2])], {}, 'crop');
  b.e.op('Transpose', [crop], b.out, { perm: [0, 3, 1, 2] });
}

function emitClassToken(b: Builder, op: ClassTokenOp, sd: StateDict, x: string): void {
  const c = op.channels;
  const row = b.reshape(x, b.ints([0, 0, 1, -1])); // [N, C, 1, h*w], row-major patches
  const token = b.e.floats(op.param, [1, c, 1, 1], rec(sd, op.param).data);
  const tokens = b.op('Expand', [token, b.concat([b.dims(x, 0, 1), b.ints([c, 1, 1])])]);
  b.e.op('Concat', [tokens, row], b.out, { axis: 3 });
}

function emitPosEmbed(b: Builder, op: PosEmbedOp, sd: StateDict, tokens: string, patches: string): void {
  const c = op.channels;
  const [gh, gw] = op.grid;
  const pe = rec(sd, op.param).data;
  const cls = b.e.floats(`${op.param}.class`, [1, c, 1, 1], pe.slice(0, c));
  // the patch part as a C x gh x gw image, resized to the input's grid as interpolate_embeddings does
  const img = b.e.floats(`${op.param}.patches`, [1, c, gh, gw], transposed(pe, gh * gw, c, c));
  const sizes = b.concat([b.ints([1, c]), b.dims(patches, 2, 4)]);
  const resized = b.op('Resize', [img, '', '', sizes], {
    mode: 'cubic',
    coordinate_transformation_mode: 'align_corners',
    cubic_coeff_a: { float: -0.75 },
    exclude_outside: 0,
  });
  const embedding = b.concat([cls, b.reshape(resized, b.ints([1, c, 1, -1]))], 3);
  b.e.op('Add', [tokens, embedding], b.out);
}

/** Emits a transformer node; returns false for other ops. */
export function emitTransformerNode(e: OnnxEmitter, n: GraphNode, ins: string[], out: string, sd: StateDict): boolean {
  const b = new Builder(e, out);
  const op = n.op;
  switch (op.kind) {
    case 'attention':
      if (op.window) emitWindowAttention(b, op, sd, ins[0]);
      else emitGlobalAttention(b, op, sd, ins[0]);
      return true;
    case 'classToken':
      emitClassToken(b, op, sd, ins[0]);
      return true;
    case 'posEmbed':
      emitPosEmbed(b, op, sd, ins[0], ins[1]);
      return true;
    case 'tokensToMap': {
      const patches = b.op('Slice', [ins[0], b.ints([1]), b.ints([INT64_MAX]), b.ints([3])], {}, 'patches');
      e.op('Reshape', [patches, b.dims(ins[1], 0, 4)], out);
      return true;
    }
    default:
      return false;
  }
}
