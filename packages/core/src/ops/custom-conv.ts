/**
 * Wraps a convolution (forward + the two gradient formulas) in tf.customGrad, so that tfjs
 * never looks for its own backward kernels (missing or slow on wasm) and so that the op does
 * not depend on tfjs' gradient registry at all. Each gradient is a single tidy computation
 * made of forward ops.
 */
import * as tf from '@tensorflow/tfjs-core';

export type Shape4 = [number, number, number, number];

/** A bias-free convolution and its gradients; `w` is in whatever layout the op defines. */
export interface ConvImpl {
  forward(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D;
  /** dL/dx for dL/dy = dy. */
  inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: Shape4): tf.Tensor4D;
  /** dL/dw for dL/dy = dy. */
  filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, wShape: Shape4): tf.Tensor4D;
}

const addBias = (y: tf.Tensor4D, b: tf.Tensor1D | null): tf.Tensor4D => {
  if (!b) return y;
  const out = tf.add(y, b) as tf.Tensor4D;
  y.dispose();
  return out;
};

/** sum of dy over N, H, W, as a [1, NHW] x [NHW, C] product: on wasm, tf.sum over the leading
 * axes first transposes dy (~25x slower than the GEMM). */
export function biasGrad(dy: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const c = dy.shape[3];
    const rows = dy.size / c;
    return tf.reshape(tf.matMul(tf.ones([1, rows]), tf.reshape(dy, [rows, c])), [c]) as tf.Tensor1D;
  });
}

/**
 * The convolution as a function differentiable w.r.t. x, w and b. Note that tfjs evaluates all
 * gradients of a customGrad eagerly, so use `frozenConv` when w and b are not trained.
 */
export function trainableConv(impl: ConvImpl, x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null): tf.Tensor4D {
  if (b) {
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, wi, bi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
      save([xi, wi]);
      const value = tf.tidy(() => addBias(impl.forward(xi, wi), bi));
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const d = dy as tf.Tensor4D;
        return [
          tf.tidy(() => impl.inputGrad(d, ws, xs.shape)),
          tf.tidy(() => impl.filterGrad(xs, d, ws.shape)),
          tf.tidy(() => biasGrad(d)),
        ];
      };
      return { value, gradFunc };
    });
    return f(x, w, b) as tf.Tensor4D;
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, wi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xi, wi]);
    const value = tf.tidy(() => impl.forward(xi, wi));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const d = dy as tf.Tensor4D;
      return [tf.tidy(() => impl.inputGrad(d, ws, xs.shape)), tf.tidy(() => impl.filterGrad(xs, d, ws.shape))];
    };
    return { value, gradFunc };
  });
  return f(x, w) as tf.Tensor4D;
}

/**
 * The convolution as a function of x alone (w and b are constants closed over): only dL/dx is
 * ever computed. The caller keeps w and b alive until the backward pass has run.
 */
export function frozenConv(impl: ConvImpl, x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([]);
    const xShape = xi.shape;
    const value = tf.tidy(() => addBias(impl.forward(xi, w), b));
    const gradFunc = (dy: tf.Tensor) => tf.tidy(() => impl.inputGrad(dy as tf.Tensor4D, w, xShape));
    return { value, gradFunc };
  });
  return f(x) as tf.Tensor4D;
}
