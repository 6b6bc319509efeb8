/**
 * PyTorch's exact GELU, x * Phi(x) with Phi the standard normal CDF (not the tanh approximation),
 * and Hardsigmoid, on every backend with gradients.
 *
 * tf.erf exists on wasm and cpu, but both evaluate Abramowitz-Stegun 7.1.26 (absolute error
 * 1.5e-7), so 1 + erf(x / sqrt 2) loses its relative accuracy for x < 0 (measured against float64:
 * 5e-5 relative on wasm, 2e-4 on cpu at x = -3); and written from element-wise ops, GELU costs
 * ~30 passes over the tensor (16x a ReLU on wasm, 6x the channel Linear before it in a ConvNeXt
 * block). So Phi comes from erfc, never from 1 + erf, and on wasm and cpu GELU and its gradient
 * are two kernels registered here ('DplGelu', 'DplGeluGrad': one JavaScript loop each, in
 * float64, over the backend's own memory; measured on [1, 56, 56, 384] on wasm, the forward takes
 * ~1.5x the tf.erf form's time and a quarter of the element-wise form's). Other backends
 * (tfjs-node, webgl) get the erfc formula from element-wise ops in one customGrad.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';

// erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z / 2), z >= 0: Numerical Recipes' Chebyshev fit
// (2nd ed., 6.2), fractional error < 1.2e-7 for every z
const ERFC_P = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
// module-level copies: a global lookup per call (Math.exp) costs ~6x the loop inside jest's vm sandbox
const exp = Math.exp;
const [P0, P1, P2, P3, P4, P5, P6, P7, P8, P9] = ERFC_P;

/** Phi(-|x|) in float64 (half of erfc(|x| / sqrt 2)). */
function tail64(a: number): number {
  const t = 1 / (1 + a * (Math.SQRT1_2 / 2));
  const p = P0 + t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * (P5 + t * (P6 + t * (P7 + t * (P8 + t * P9))))))));
  return 0.5 * t * exp(p - 0.5 * a * a);
}

// |x| <= 1.5 (~87% of unit-normal inputs) takes Phi's Taylor series instead, no exp or division:
// Phi(x) = 1/2 + x * sum c_n x^2n, c_n = (-1)^n / (sqrt(2 pi) 2^n n! (2n + 1)); truncated after
// n = 13 it is exact to 1e-11 there, and its derivative sum (2n + 1) c_n x^2n is phi(x). Twice as
// fast as the erfc form on such data.
const SPLIT = 1.5;
const SERIES: number[] = [];
for (let n = 0, fact = 1; n < 14; n++, fact *= n) SERIES.push((n % 2 ? -1 : 1) / (Math.sqrt(2 * Math.PI) * 2 ** n * fact * (2 * n + 1)));
const [C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13] = SERIES;
const [D0, D1, D2, D3, D4, D5, D6, D7, D8, D9, D10, D11, D12, D13] = SERIES.map((c, n) => c * (2 * n + 1));

function cdf64(x: number): number {
  if (x > SPLIT) return 1 - tail64(x);
  if (x < -SPLIT) return tail64(-x);
  const u = x * x;
  return (
    0.5 +
    x *
      (C0 +
        u *
          (C1 +
            u *
              (C2 +
                u * (C3 + u * (C4 + u * (C5 + u * (C6 + u * (C7 + u * (C8 + u * (C9 + u * (C10 + u * (C11 + u * (C12 + u * C13)))))))))))))
  );
}

/** The standard normal density in float64. */
function pdf64(x: number): number {
  if (x > SPLIT || x < -SPLIT) return INV_SQRT_2PI * exp(-0.5 * x * x);
  const u = x * x;
  return (
    D0 +
    u *
      (D1 +
        u * (D2 + u * (D3 + u * (D4 + u * (D5 + u * (D6 + u * (D7 + u * (D8 + u * (D9 + u * (D10 + u * (D11 + u * (D12 + u * D13))))))))))))
  );
}

const GELU = 'DplGelu';
const GELU_GRAD = 'DplGeluGrad';

function geluLoop(x: ArrayLike<number>, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] = x[i] * cdf64(x[i]);
}

function geluGradLoop(dy: ArrayLike<number>, x: ArrayLike<number>, dx: Float32Array): void {
  for (let i = 0; i < dx.length; i++) {
    const v = x[i];
    // d/dx x Phi(x) = Phi(x) + x phi(x)
    dx[i] = dy[i] * (cdf64(v) + v * pdf64(v));
  }
}

// the parts of tfjs' wasm and cpu backends these kernels use
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}
interface CpuBackend {
  data: { get(id: tf.DataId): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

function register(): void {
  if (tf.getKernel(GELU, 'wasm')) return; // once per copy of tfjs-core
  const wasm = (loop: (out: Float32Array, ins: Float32Array[]) => void) => (args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const b = args.backend as WasmBackend;
    const ins = Object.values(args.inputs) as tf.TensorInfo[];
    const out = b.makeOutput(ins[0].shape, 'float32'); // may grow the heap: take the views after
    loop(
      b.typedArrayFromHeap(out),
      ins.map((t) => b.typedArrayFromHeap(t)),
    );
    return out;
  };
  const cpu = (loop: (out: Float32Array, ins: Float32Array[]) => void) => (args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const b = args.backend as CpuBackend;
    const ins = Object.values(args.inputs) as tf.TensorInfo[];
    const out = new Float32Array(tf.util.sizeFromShape(ins[0].shape));
    loop(
      out,
      ins.map((t) => b.data.get(t.dataId).values as Float32Array),
    );
    return b.makeTensorInfo(ins[0].shape, 'float32', out);
  };
  const fwd = (out: Float32Array, [x]: Float32Array[]) => geluLoop(x, out);
  // inputs in the order given to runKernel: {dy, x}
  const bwd = (out: Float32Array, [dy, x]: Float32Array[]) => geluGradLoop(dy, x, out);
  for (const [backendName, make] of [
    ['wasm', wasm],
    ['cpu', cpu],
  ] as const) {
    tf.registerKernel({ kernelName: GELU, backendName, kernelFunc: make(fwd) as tf.KernelFunc });
    tf.registerKernel({ kernelName: GELU_GRAD, backendName, kernelFunc: make(bwd) as tf.KernelFunc });
  }
  tf.registerGradient({
    kernelName: GELU,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.engine().runKernel(GELU_GRAD, { dy: dy as tf.Tensor, x: saved[0] }) }),
  });
}
register();

/** The standard normal CDF from element-wise ops (the fallback): <= 3.4e-7 relative to float64 for |x| <= 5.5. */
export function normalCdf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    const t = tf.div(1, tf.add(tf.mul(a, Math.SQRT1_2 / 2), 1));
    let p: tf.Tensor = tf.scalar(ERFC_P[ERFC_P.length - 1]);
    for (let i = ERFC_P.length - 2; i >= 0; i--) p = tf.add(tf.mul(p, t), ERFC_P[i]);
    // exp(-x^2 / 2) with x = hi + lo, hi on a 1/256 grid so hi^2 / 2 is exact in float32: one
    // rounded z^2 would cost ~eps * z^2 relative (2e-6 at |x| = 5.5)
    const hi = tf.div(tf.round(tf.mul(a, 256)), 256);
    const lo = tf.sub(a, hi);
    const big = tf.exp(tf.mul(tf.square(hi), -0.5));
    const small = tf.exp(tf.sub(p, tf.mul(tf.mul(tf.add(tf.mul(hi, 2), lo), lo), 0.5)));
    const tail = tf.mul(tf.mul(tf.mul(t, big), small), 0.5);
    return tf.where(tf.less(x, 0), tail, tf.sub(1, tail));
  });
}

const composedGelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.tidy(() => tf.mul(x, normalCdf(x))),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [xs] = saved;
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), INV_SQRT_2PI);
        return tf.mul(dy, tf.add(normalCdf(xs), tf.mul(xs, pdf)));
      }),
  };
});

/** GELU from element-wise ops, the form used on backends without the kernels (exported for tests). */
export function geluComposed<T extends tf.Tensor>(x: T): T {
  return composedGelu(x) as T;
}

/** torch.nn.GELU() (approximate='none'). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (x.dtype === 'float32' && tf.getKernel(GELU, tf.getBackend())) return tf.engine().runKernel(GELU, { x }) as T;
  return composedGelu(x) as T;
}

/** torch.nn.Hardsigmoid: relu6(x + 3) / 6. */
export function hardsigmoid<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6)) as T;
}
