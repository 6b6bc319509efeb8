/**
 * The cpu backend's built-in ops and the backward kernels that tfjs' own registered gradients
 * call (the same computation as tf.grads with tfjs' gradient registry; the registry itself is
 * not loaded by tfjs-core's CommonJS bundle, so the kernels are called directly). tfjs has no
 * dilated conv gradient and no grouped conv, so: dilation > 1 gives the value only, and grouped
 * convs run as one built-in conv per group.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Arr, useBackend } from './harness';

type Explicit = [[number, number], [number, number], [number, number], [number, number]];
const explicit = (pad: [number, number]): Explicit => [
  [0, 0],
  [pad[0], pad[0]],
  [pad[1], pad[1]],
  [0, 0],
];

export interface BuiltinResult {
  y: Float32Array;
  yShape: number[];
  /** present when tfjs has the gradient (dilation 1) */
  dx?: Float32Array;
  dw?: Float32Array;
  db?: Float32Array;
}

const t4 = (a: Arr) => tf.tensor4d(a.data, a.shape as [number, number, number, number]);

/** Runs f in a tidy scope and copies its tensors out. */
function collect(f: () => Record<string, tf.Tensor>): BuiltinResult {
  const ts = tf.tidy(f);
  const read = (k: string) => (ts[k] ? Float32Array.from(ts[k].dataSync()) : undefined);
  const res: BuiltinResult = { y: read('y')!, yShape: ts.y.shape.slice(), dx: read('dx'), dw: read('dw'), db: read('db') };
  tf.dispose(Object.values(ts));
  return res;
}

/** Built-in grouped conv2d (w HWIO [kh,kw,in/g,out]) on cpu, gradients for dy. */
export async function builtinConv(
  x: Arr,
  w: Arr,
  b: Arr | null,
  dy: Arr,
  stride: [number, number],
  pad: [number, number],
  dilation: [number, number],
  groups: number,
): Promise<BuiltinResult> {
  await useBackend('cpu');
  return collect(() => {
    const xt = t4(x),
      wt = t4(w),
      dyt = t4(dy);
    const xs = tf.split<tf.Tensor4D>(xt, groups, 3),
      ws = tf.split<tf.Tensor4D>(wt, groups, 3),
      dys = tf.split<tf.Tensor4D>(dyt, groups, 3);
    let y: tf.Tensor = tf.concat(
      xs.map((xi, g) => tf.conv2d(xi, ws[g], stride, explicit(pad), 'NHWC', dilation)),
      3,
    );
    if (b) y = tf.add(y, tf.tensor1d(b.data));
    const res: Record<string, tf.Tensor> = { y, db: tf.sum(dyt, [0, 1, 2]) };
    if (dilation[0] === 1 && dilation[1] === 1) {
      res.dx = tf.concat(
        dys.map((d, g) => tf.conv2dTranspose(d, ws[g], xs[g].shape, stride, explicit(pad))),
        3,
      );
      res.dw = tf.concat(
        dys.map(
          (d, g) =>
            tf
              .engine()
              .runKernel(
                'Conv2DBackpropFilter',
                { x: xs[g], dy: d },
                { strides: stride, pad: explicit(pad), dataFormat: 'NHWC', filterShape: ws[g].shape },
              ) as tf.Tensor,
        ),
        3,
      );
    }
    return res;
  });
}

/** Built-in depthwise conv (w [kh,kw,C,m]) on cpu, gradients for dy. */
export async function builtinDepthwise(
  x: Arr,
  w: Arr,
  b: Arr | null,
  dy: Arr,
  stride: [number, number],
  pad: [number, number],
  dilation: [number, number],
): Promise<BuiltinResult> {
  await useBackend('cpu');
  return collect(() => {
    const xt = t4(x),
      wt = t4(w),
      dyt = t4(dy);
    let y: tf.Tensor = tf.depthwiseConv2d(xt, wt, stride, explicit(pad), 'NHWC', dilation);
    if (b) y = tf.add(y, tf.tensor1d(b.data));
    const res: Record<string, tf.Tensor> = { y, db: tf.sum(dyt, [0, 1, 2]) };
    if (dilation[0] === 1 && dilation[1] === 1) {
      const attrs = { strides: stride, dilations: dilation, pad: explicit(pad) };
      res.dx = tf
        .engine()
        .runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dyt, filter: wt }, { ...attrs, inputShape: x.shape }) as tf.Tensor;
      res.dw = tf
        .engine()
        .runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xt, dy: dyt }, { ...attrs, filterShape: w.shape }) as tf.Tensor;
    }
    return res;
  });
}

/**
 * Built-in tf.conv2dTranspose (w [kh,kw,out,in]; no dilation, output size given) on cpu and the
 * gradients tfjs registers for Conv2DBackpropInput: dx = conv2d(dy, w), dw = BackpropFilter(dy, x).
 */
export async function builtinConvTranspose(
  x: Arr,
  w: Arr,
  b: Arr | null,
  dy: Arr,
  stride: [number, number],
  pad: [number, number],
): Promise<BuiltinResult> {
  await useBackend('cpu');
  return collect(() => {
    const xt = t4(x),
      wt = t4(w),
      dyt = t4(dy);
    const yShape = dy.shape as [number, number, number, number];
    let y: tf.Tensor = tf.conv2dTranspose(xt, wt, yShape, stride, explicit(pad));
    if (b) y = tf.add(y, tf.tensor1d(b.data));
    return {
      y,
      db: tf.sum(dyt, [0, 1, 2]),
      dx: tf.conv2d(dyt, wt, stride, explicit(pad)),
      dw: tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x: dyt, dy: xt },
          { strides: stride, pad: explicit(pad), dataFormat: 'NHWC', filterShape: w.shape },
        ) as tf.Tensor,
    };
  });
}
