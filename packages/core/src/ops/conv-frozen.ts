import * as tf from '@tensorflow/tfjs-core';
import '../gradients';
import { convInputGrad, convRaw } from './conv-train';
import { padOrCrop, zeroInsert } from './zero-insert';

export interface ConvSpec {
  stride: [number, number];
  /** PyTorch explicit symmetric padding. */
  pad: [number, number];
  dilation: [number, number];
}

/**
 * A convolution with frozen weights (a loss network layer), differentiable w.r.t. its input on
 * every backend. The input gradient is itself a forward convolution of dy with the 180-degree
 * rotated, in/out-swapped kernel, computed once per layer on first use: wasm's Conv2DBackpropInput is a slow
 * plain loop, XNNPACK's forward conv is fast.
 */
export class FrozenConv2d {
  private readonly w: tf.Tensor4D;
  /** Built on the first backward pass: inference-only users never pay for it. */
  private wRot: tf.Tensor4D | null = null;
  private readonly b: tf.Tensor1D | null;
  readonly forward: (x: tf.Tensor4D) => tf.Tensor4D;

  /** `w` in tfjs HWIO layout [kh, kw, in, out]; the layer takes ownership of `w` and `b`. */
  constructor(
    w: tf.Tensor4D,
    b: tf.Tensor1D | null,
    readonly spec: ConvSpec,
  ) {
    this.w = w;
    this.b = b;
    this.forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const x4 = args[0] as tf.Tensor4D;
      const save = args[1] as tf.GradSaveFunc;
      // tf.conv2d refuses stride > 1 with dilation > 1; convRaw handles every combination
      const conv = convRaw(x4, this.w, spec.stride, [spec.pad[0], spec.pad[0], spec.pad[1], spec.pad[1]], spec.dilation);
      const value = this.b ? tf.tidy(() => tf.add(conv, this.b as tf.Tensor1D)) : conv;
      if (this.b) conv.dispose();
      save([]);
      const inShape = x4.shape;
      return { value, gradFunc: (dy: tf.Tensor) => this.inputGrad(dy as tf.Tensor4D, inShape) };
    }) as (x: tf.Tensor4D) => tf.Tensor4D;
  }

  /**
   * dx: at stride 1 a conv of the padded dy with the cached rotated kernel; strided convs use the
   * per-output-phase form of ops/conv-train (never multiplies inserted zeros: 2-4x faster).
   */
  private inputGrad(dy: tf.Tensor4D, inShape: number[]): tf.Tensor4D {
    if (this.spec.stride[0] > 1 || this.spec.stride[1] > 1) return convInputGrad(dy, this.w, inShape, this.spec);
    return tf.tidy(() => {
      const { stride, pad, dilation } = this.spec;
      const [kh, kw] = this.w.shape;
      const up = zeroInsert(dy, stride[0], stride[1]);
      const effH = dilation[0] * (kh - 1),
        effW = dilation[1] * (kw - 1);
      const top = effH - pad[0],
        left = effW - pad[1];
      const bottom = inShape[1] - up.shape[1] + pad[0];
      const right = inShape[2] - up.shape[2] + pad[1];
      const padded = padOrCrop(up, top, bottom, left, right);
      return tf.conv2d(padded, this.rotated(), 1, 'valid', 'NHWC', dilation);
    });
  }

  private rotated(): tf.Tensor4D {
    // keep(): this runs inside the gradient's tidy scope but must outlive it
    // (tf.reverse is slow on wasm and a no-op for the many 1x1 kernels)
    const [kh, kw] = this.w.shape;
    this.wRot ??= tf.keep(tf.tidy(() => tf.transpose(kh * kw > 1 ? tf.reverse(this.w, [0, 1]) : this.w, [0, 1, 3, 2]) as tf.Tensor4D));
    return this.wRot;
  }

  dispose(): void {
    this.w.dispose();
    this.wRot?.dispose();
    this.b?.dispose();
  }
}
