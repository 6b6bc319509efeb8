/**
 * Grouped convolution (torch Conv2d with groups G), NHWC, kernel HWIO [kh, kw, C_in/G, C_out]
 * (torch OIHW permuted (2, 3, 1, 0)); output channel o belongs to group floor(o / (C_out/G)).
 * Two implementations, both built from forward convs only:
 *  - 'depthwise': one depthwise conv with multiplier og = C_out/G (input channel c = (g, ci)
 *    gets og filters, the (g, ci, q) results are summed over ci), one call whatever G;
 *  - 'split': G dense convs on channel slices, concatenated.
 * 'auto' is 'depthwise': on wasm it was faster for every ResNeXt50-32x4d layer shape measured
 * (forward, + dx, + dw), partly because wasm's split/concat along the channel axis copy rows of
 * C/G floats one by one in JS. In that form dw is one depthwise conv too (groupedFilterGrad);
 * 'split' uses per-group dense convs throughout (kept for comparison and other backends).
 * groups = 1 is a dense conv; groups = C_in is a depthwise conv (the kernel is reshaped).
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError } from '../errors';
import { type Conv2DSpec, type GroupedConv2DSpec, type Pads4, checkBias, checkConvFits, checkConvSpec, checkRank4 } from './conv-spec';
import { convFilterGrad, convInputGrad, convRaw, denseConvImpl, filterGradPads } from './conv-train';
import { type ConvImpl, type Shape4, frozenConv, trainableConv } from './custom-conv';
import { depthwiseRaw } from './depthwise';
import { transposedConv } from './input-grad';

/** How a grouped convolution runs: depthwise kernels, one convolution per group, or chosen by shape. */
export type GroupedStrategy = 'auto' | 'depthwise' | 'split';

/** HWIO [kh, kw, cg, G*og] -> depthwise [kh, kw, G*cg, og] (input channel (g, ci) gets og filters). */
export function groupedToDepthwiseFilter(w: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [kh, kw, cg, cout] = w.shape;
  const og = cout / groups;
  if (cg === 1) return tf.reshape(w, [kh, kw, groups, og]);
  return tf.tidy(
    () => tf.reshape(tf.transpose(tf.reshape(w, [kh, kw, cg, groups, og]), [0, 1, 3, 2, 4]), [kh, kw, groups * cg, og]) as tf.Tensor4D,
  );
}

/** Inverse of groupedToDepthwiseFilter. */
export function depthwiseToGroupedFilter(wd: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [kh, kw, cin, og] = wd.shape;
  const cg = cin / groups;
  if (cg === 1) return tf.reshape(wd, [kh, kw, 1, groups * og]);
  return tf.tidy(
    () => tf.reshape(tf.transpose(tf.reshape(wd, [kh, kw, groups, cg, og]), [0, 1, 3, 2, 4]), [kh, kw, cg, groups * og]) as tf.Tensor4D,
  );
}

/**
 * [N, H, W, G*cg*og] with channel (g, ci, q) -> [N, H, W, G*og] summed over ci. As a cg x 1
 * average pool (times cg) of [N*H*W*G, cg, 1, og]: on wasm, tf.sum over a middle axis first
 * runs a slow rank-6 transpose.
 */
function sumOverGroupInputs(z: tf.Tensor4D, groups: number, cg: number, og: number): tf.Tensor4D {
  if (cg === 1) return z;
  return tf.tidy(() => {
    const [n, h, w] = z.shape;
    const pooled = tf.avgPool(tf.reshape(z, [n * h * w * groups, cg, 1, og]) as tf.Tensor4D, [cg, 1], [cg, 1], 'valid');
    return tf.reshape(tf.mul(pooled, cg), [n, h, w, groups * og]) as tf.Tensor4D;
  });
}

/**
 * dL/dw of a grouped conv, HWIO [kh, kw, cg, G*og], as one depthwise conv: x seen as cg images
 * (one per input channel within a group) with channels (n, g), dy as the filter
 * [OH, OW, N*G, og]; forward stride and dilation swap roles; summed over N. Only rank-4
 * transposes of data-sized tensors (wasm's rank-5 transpose is ~30x slower).
 */
export function groupedFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  wShape: readonly number[],
  groups: number,
  spec: Conv2DSpec,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, cg, cout] = wShape;
    const og = cout / groups;
    const [n, h, w] = x.shape;
    const [, oh, ow] = dy.shape;
    const xb = tf.reshape(tf.transpose(tf.reshape(x, [n, h * w, groups, cg]), [3, 1, 0, 2]), [cg, h, w, n * groups]) as tf.Tensor4D;
    const f = (
      n === 1
        ? tf.reshape(dy, [oh, ow, groups, og])
        : tf.reshape(tf.transpose(tf.reshape(dy, [n, oh * ow, groups, og]), [1, 0, 2, 3]), [oh, ow, n * groups, og])
    ) as tf.Tensor4D;
    const out = depthwiseRaw(xb, f, spec.dilation, filterGradPads(x.shape, dy.shape, [kh, kw], spec), spec.stride);
    // out [cg, kh, kw, (n, g, q)]
    const s = n === 1 ? out : tf.sum(tf.reshape(out, [cg * kh * kw, n, cout]), 1);
    return tf.reshape(tf.transpose(tf.reshape(s, [cg, kh * kw, cout]), [1, 0, 2]), [kh, kw, cg, cout]) as tf.Tensor4D;
  });
}

/** Grouped forward conv through one depthwise conv (see the file header). */
export function groupedRawDepthwise(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  groups: number,
  stride: [number, number],
  pads: Pads4,
  dilation: [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , cg, cout] = w.shape;
    const z = depthwiseRaw(x, groupedToDepthwiseFilter(w, groups), stride, pads, dilation);
    return sumOverGroupInputs(z, groups, cg, cout / groups);
  });
}

/** Grouped forward conv as G dense convs. */
export function groupedRawSplit(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  groups: number,
  stride: [number, number],
  pads: Pads4,
  dilation: [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    const xs = tf.split<tf.Tensor4D>(x, groups, 3);
    const ws = tf.split<tf.Tensor4D>(w, groups, 3);
    return tf.concat(
      xs.map((xi, g) => convRaw(xi, ws[g], stride, pads, dilation)),
      3,
    );
  });
}

const pads4 = (spec: Conv2DSpec): Pads4 => [spec.pad[0], spec.pad[0], spec.pad[1], spec.pad[1]];

/** ConvImpl of the 'depthwise' form (also used for groups = C_in, where it is a plain reshape). */
function depthwiseFormImpl(spec: Conv2DSpec, groups: number): ConvImpl {
  return {
    forward: (x, w) => groupedRawDepthwise(x, w, groups, spec.stride, pads4(spec), spec.dilation),
    // dx is itself a grouped conv (G groups, og -> cg channels) of the zero-inserted dy with the
    // rotated kernel, run in the depthwise form: kernel [kh, kw, G*og, cg], summed over og (zero
    // insertion rather than phases, as for depthwise convs: see input-grad.ts)
    inputGrad: (dy, w, xShape: Shape4) => {
      const [, , cg, cout] = w.shape;
      const og = cout / groups;
      return transposedConv(
        dy,
        w,
        xShape[1],
        xShape[2],
        xShape[3],
        spec,
        (inp, wf, pads) =>
          tf.tidy(() => {
            const [th, tw] = wf.shape;
            const rot = tf.reverse(wf, [0, 1]);
            const wt = (
              cg === 1
                ? tf.reshape(rot, [th, tw, cout, 1])
                : tf.reshape(tf.transpose(tf.reshape(rot, [th, tw, cg, groups, og]), [0, 1, 3, 4, 2]), [th, tw, cout, cg])
            ) as tf.Tensor4D;
            return sumOverGroupInputs(depthwiseRaw(inp, wt, [1, 1], pads, spec.dilation), groups, og, cg);
          }),
        false,
      );
    },
    filterGrad: (x, dy, wShape: Shape4) => groupedFilterGrad(x, dy, wShape, groups, spec),
  };
}

/** ConvImpl of the 'split' form. */
function splitFormImpl(spec: Conv2DSpec, groups: number): ConvImpl {
  return {
    forward: (x, w) => groupedRawSplit(x, w, groups, spec.stride, pads4(spec), spec.dilation),
    inputGrad: (dy, w, xShape: Shape4) =>
      tf.tidy(() => {
        const dys = tf.split<tf.Tensor4D>(dy, groups, 3);
        const ws = tf.split<tf.Tensor4D>(w, groups, 3);
        const xs: Shape4 = [xShape[0], xShape[1], xShape[2], xShape[3] / groups];
        return tf.concat(
          dys.map((d, g) => convInputGrad(d, ws[g], xs, spec)),
          3,
        );
      }),
    filterGrad: (x, dy, wShape: Shape4) =>
      tf.tidy(() => {
        const xs = tf.split<tf.Tensor4D>(x, groups, 3);
        const dys = tf.split<tf.Tensor4D>(dy, groups, 3);
        return tf.concat(
          xs.map((xi, g) => convFilterGrad(xi, dys[g], [wShape[0], wShape[1]], spec)),
          3,
        );
      }),
  };
}

function checkGrouped(op: string, x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, spec: GroupedConv2DSpec): GroupedConv2DSpec {
  const s = checkConvSpec(op, spec);
  checkRank4(op, 'x', x.shape, 'NHWC');
  checkRank4(op, 'w', w.shape, 'HWIO [kh, kw, in/groups, out]');
  const g = spec.groups;
  const cin = x.shape[3],
    cout = w.shape[3];
  if (!Number.isInteger(g) || g < 1 || cin % g !== 0 || cout % g !== 0) {
    throw inputError(`${op} groups`, `must be a positive integer dividing both C_in (${cin}) and C_out (${cout}), got ${g}`);
  }
  if (w.shape[2] * g !== cin) {
    throw inputError(
      `${op} w`,
      `has ${w.shape[2]} input channels per group (w.shape[2]) but x has ${cin} channels in ${g} groups`,
      'w must be HWIO [kh, kw, C_in/groups, C_out] (torch OIHW permuted (2, 3, 1, 0))',
    );
  }
  checkConvFits(op, x.shape, w.shape[0], w.shape[1], s);
  checkBias(op, b ? b.shape : null, cout);
  return { ...s, groups: g };
}

function implFor(w: tf.Tensor4D, spec: GroupedConv2DSpec, strategy: GroupedStrategy): ConvImpl {
  const g = spec.groups;
  if (g === 1) return denseConvImpl(spec);
  if (w.shape[2] === 1 || strategy !== 'split') return depthwiseFormImpl(spec, g);
  return splitFormImpl(spec, g);
}

/**
 * torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups) in NHWC, differentiable
 * w.r.t. x, w and b on every backend. x: [N, H, W, C_in]; w: HWIO [kh, kw, C_in/groups, C_out];
 * b: [C_out] or null. Any groups (1 = dense, C_in = depthwise).
 */
export function groupedConv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | null,
  spec: GroupedConv2DSpec,
  strategy: GroupedStrategy = 'auto',
): tf.Tensor4D {
  const s = checkGrouped('groupedConv2d', x, w, b, spec);
  return trainableConv(implFor(w, s, strategy), x, w, b);
}

/**
 * groupedConv2d with frozen weights: differentiable w.r.t. x only (w and b are closed over and
 * must stay alive until the backward pass has run).
 */
export function groupedConv2dFrozen(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | null,
  spec: GroupedConv2DSpec,
  strategy: GroupedStrategy = 'auto',
): tf.Tensor4D {
  const s = checkGrouped('groupedConv2dFrozen', x, w, b, spec);
  return frozenConv(implFor(w, s, strategy), x, w, b);
}

/**
 * A frozen grouped / depthwise conv layer (same shape as FrozenConv2d): owns w (HWIO
 * [kh, kw, C_in/groups, C_out]) and b, differentiable w.r.t. its input only.
 */
export class FrozenGroupedConv2d {
  constructor(
    private readonly w: tf.Tensor4D,
    private readonly b: tf.Tensor1D | null,
    readonly spec: GroupedConv2DSpec,
  ) {}

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return groupedConv2dFrozen(x, this.w, this.b, this.spec);
  }

  dispose(): void {
    this.w.dispose();
    this.b?.dispose();
  }
}
