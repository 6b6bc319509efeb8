/**
 * ONNX forms (opset 17, NCHW) of the per-position ops: GELU, Hardsigmoid, LayerNorm over
 * channels, channel Linear, layer scale, and Swin's patch merging. Each follows the tfjs executor
 * (graph/executor.ts and ops/) and PyTorch; test/onnx/channel-ops.test.ts compares them on
 * onnxruntime.
 */
import type { ChannelLinearOp, ChannelScaleOp, GraphNode, LayerNormOp } from '../graph/ir';
import type { StateDict, TensorRecord } from '../weights/state-dict';
import { floatTensor, int64Tensor, type AttrValue, type onnx } from './proto';

/** What these emitters need of export.ts's emitter. */
export interface OnnxEmitter {
  init(base: string, make: (name: string) => onnx.ITensorProto): string;
  floats(base: string, dims: number[], data: Float32Array): string;
  op(type: string, inputs: string[], output: string, attrs?: Record<string, AttrValue>): string;
}

/** The op kinds emitted here. */
export const CHANNEL_OPS = new Set(['gelu', 'hardsigmoid', 'layerNorm', 'channelLinear', 'channelScale', 'patchMerge']);

const scalar = (e: OnnxEmitter, base: string, v: number) => e.init(base, (name) => floatTensor(name, [], new Float32Array([v])));
const ints = (e: OnnxEmitter, base: string, v: number[]) => e.init(base, (name) => int64Tensor(name, [v.length], v));

/** Emits node `n` (one of CHANNEL_OPS) reading `x`, writing `out`; `rec` reads the state_dict. */
export function emitChannelOp(
  e: OnnxEmitter,
  n: GraphNode,
  x: string,
  out: string,
  sd: StateDict,
  rec: (sd: StateDict, key: string) => TensorRecord,
): void {
  const op = n.op;
  switch (op.kind) {
    case 'gelu': {
      // exact GELU (opset 17 has no Gelu op): x * (1 + erf(x / sqrt 2)) / 2, as PyTorch's kernel writes it
      const erf = e.op('Erf', [e.op('Mul', [x, scalar(e, 'gelu.rsqrt2', Math.SQRT1_2)], `${out}_scaled`)], `${out}_erf`);
      const half = e.op('Mul', [x, scalar(e, 'gelu.half', 0.5)], `${out}_half`);
      e.op('Mul', [half, e.op('Add', [erf, scalar(e, 'gelu.one', 1)], `${out}_cdf2`)], out);
      return;
    }
    case 'hardsigmoid':
      // max(0, min(1, x / 6 + 1 / 2)) = relu6(x + 3) / 6
      e.op('HardSigmoid', [x], out, { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
      return;
    case 'layerNorm':
      return emitLayerNorm(e, op, x, out, sd, rec);
    case 'channelLinear':
      return emitChannelLinear(e, op, x, out, sd, rec);
    case 'channelScale':
      return emitChannelScale(e, op, x, out, sd, rec);
    case 'patchMerge':
      return emitPatchMerge(e, x, out);
    default:
      throw new Error(`internal: '${op.kind}' is not a channel op`);
  }
}

/** LayerNormalization over the last axis of the channels-last view, between two transposes. */
function emitLayerNorm(
  e: OnnxEmitter,
  op: LayerNormOp,
  x: string,
  out: string,
  sd: StateDict,
  rec: (sd: StateDict, key: string) => TensorRecord,
): void {
  const c = op.channels;
  const nhwc = e.op('Transpose', [x], `${out}_nhwc`, { perm: [0, 2, 3, 1] });
  const w = e.floats(`${op.key}.weight`, [c], rec(sd, `${op.key}.weight`).data);
  const b = e.floats(`${op.key}.bias`, [c], rec(sd, `${op.key}.bias`).data);
  // biased variance and eps inside the square root, as PyTorch's LayerNorm
  const normed = e.op('LayerNormalization', [nhwc, w, b], `${out}_ln`, { axis: -1, epsilon: { float: op.eps } });
  e.op('Transpose', [normed], out, { perm: [0, 3, 1, 2] });
}

/** nn.Linear at every position: a 1x1 convolution with the [out, in] weight as [out, in, 1, 1]. */
function emitChannelLinear(
  e: OnnxEmitter,
  op: ChannelLinearOp,
  x: string,
  out: string,
  sd: StateDict,
  rec: (sd: StateDict, key: string) => TensorRecord,
): void {
  const inputs = [x, e.floats(`${op.key}.weight`, [op.outChannels, op.inChannels, 1, 1], rec(sd, `${op.key}.weight`).data)];
  if (op.bias) inputs.push(e.floats(`${op.key}.bias`, [op.outChannels], rec(sd, `${op.key}.bias`).data));
  e.op('Conv', inputs, out, { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 });
}

function emitChannelScale(
  e: OnnxEmitter,
  op: ChannelScaleOp,
  x: string,
  out: string,
  sd: StateDict,
  rec: (sd: StateDict, key: string) => TensorRecord,
): void {
  e.op('Mul', [x, e.floats(op.param, [1, op.channels, 1, 1], rec(sd, op.param).data)], out);
}

/**
 * Swin's gather on NCHW with symbolic H and W: zero-pad the bottom / right by H % 2, W % 2 (pads
 * computed from the runtime shape), then the four stride-2 slices x[0::2, 0::2], x[1::2, 0::2],
 * x[0::2, 1::2], x[1::2, 1::2] concatenated on channels.
 */
function emitPatchMerge(e: OnnxEmitter, x: string, out: string): void {
  const hw = e.op(
    'Slice',
    [e.op('Shape', [x], `${out}_shape`), ints(e, 'patchMerge.hw.start', [2]), ints(e, 'patchMerge.hw.end', [4])],
    `${out}_hw`,
  );
  const odd = e.op('Mod', [hw, ints(e, 'patchMerge.two', [2, 2])], `${out}_odd`);
  const pads = e.op('Concat', [ints(e, 'patchMerge.zeros', [0, 0, 0, 0, 0, 0]), odd], `${out}_pads`, { axis: 0 });
  const padded = e.op('Pad', [x, pads], `${out}_padded`, { mode: 'constant' });
  const axes = ints(e, 'patchMerge.axes', [2, 3]);
  const steps = ints(e, 'patchMerge.steps', [2, 2]);
  const ends = ints(e, 'patchMerge.ends', [2147483647, 2147483647]);
  const parts = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ].map(([dy, dx]) => e.op('Slice', [padded, ints(e, `patchMerge.start${dy}${dx}`, [dy, dx]), ends, axes, steps], `${out}_part${dy}${dx}`));
  e.op('Concat', parts, out, { axis: 1 });
}
