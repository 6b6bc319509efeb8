/**
 * The iterative U-Net of Mosinska et al. 2018 as the study used it (docs/PROTOCOL.md section 5).
 *
 * Mosinska et al. describe the network at block level only (a U-Net fed the image and its own
 * previous prediction, K refinement steps). The layer details follow the public PyTorch
 * re-implementation the study's delineation code descends from (the same widths nf*2, nf*4, nf*8,
 * nf*8 with nf = 4 input channels): pix2pix-style *pre-activation* blocks,
 *   down block: LeakyReLU(0.2) -> Conv2d(k4, s2, p1, no bias) -> BatchNorm
 *   up block:   ReLU           -> ConvTranspose2d(k4, s2, p1, no bias) -> BatchNorm
 * with the skip concatenated before each up block's activation, and a sigmoid on the last block's
 * 1-channel output. The first down block's LeakyReLU acts on the input, which is in [0, 1] (RGB
 * and a probability), so it is the identity there; we keep it for fidelity. Slopes are settings
 * (downSlope, upSlope). The study's own block code picks ReLU whenever the slope is non-zero (an
 * inverted test), so its down blocks ran ReLU: the `paper` preset's downSlope is 0, `corrected`
 * uses the intended 0.2 (docs/PROTOCOL.md, "Deviations"). Its in-place activations also rectify
 * the skip tensors, which changes nothing here: the up block's ReLU rectifies them anyway. Convolutions have no bias because BatchNorm follows each of them.
 *
 * Parameter names: down{1..4}.conv / .bn, up{1..4}.tconv / .bn (NHWC layouts of nn.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nn, type ParamStore } from '@dpl/core';

/**
 * BatchNorm of the U-Net: true = training (batch statistics, running statistics updated), false =
 * eval (running statistics), 'batch' = batch statistics with nothing updated: a PyTorch module left
 * in train mode under torch.no_grad(), as the study's test script ran the U-Net
 * (docs/PROTOCOL.md, "Deviations": unetTestBatchNorm).
 */
export type UNetMode = boolean | 'batch';

/** BatchNorm with the batch's own (biased) statistics and the stored affine parameters; updates nothing. */
function batchStatsNorm(store: ParamStore, name: string, x: tf.Tensor4D, eps = 1e-5): tf.Tensor4D {
  const c = x.shape[3];
  const gamma = store.param(`${name}.weight`, [c], { kind: 'constant', value: 1 });
  const beta = store.param(`${name}.bias`, [c], { kind: 'constant', value: 0 });
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
  });
}

const norm = (store: ParamStore, name: string, y: tf.Tensor4D, mode: UNetMode): tf.Tensor4D =>
  mode === 'batch' ? batchStatsNorm(store, name, y) : nn.batchNorm(store, name, y, mode);

export interface UNetOptions {
  /** Output channels of the 4 down blocks; the up blocks output widths[2], widths[1], widths[0], then 1. */
  widths: readonly [number, number, number, number];
  downSlope: number;
  upSlope: number;
}

const act = (x: tf.Tensor4D, slope: number): tf.Tensor4D => (slope === 0 ? tf.relu(x) : nn.leakyRelu(x, slope));

function down(store: ParamStore, name: string, x: tf.Tensor4D, out: number, slope: number, training: UNetMode): tf.Tensor4D {
  const y = nn.conv(store, `${name}.conv`, act(x, slope), { out, k: 4, stride: 2, pad: 1, bias: false });
  return norm(store, `${name}.bn`, y, training);
}

function up(store: ParamStore, name: string, x: tf.Tensor4D, out: number, slope: number, training: UNetMode): tf.Tensor4D {
  const y = nn.convTranspose(store, `${name}.tconv`, act(x, slope), { out, k: 4, stride: 2, pad: 1, bias: false });
  return norm(store, `${name}.bn`, y, training);
}

/**
 * One U-Net pass: x [N, H, W, 4] (RGB + previous prediction; H, W multiples of 16) -> logits
 * [N, H, W, 1] (the sigmoid is applied by the caller, so BCE can use the stable logits form).
 */
export function unetLogits(store: ParamStore, x: tf.Tensor4D, training: UNetMode, o: UNetOptions): tf.Tensor4D {
  const [w1, w2, w3, w4] = o.widths;
  const d1 = down(store, 'down1', x, w1, o.downSlope, training);
  const d2 = down(store, 'down2', d1, w2, o.downSlope, training);
  const d3 = down(store, 'down3', d2, w3, o.downSlope, training);
  const d4 = down(store, 'down4', d3, w4, o.downSlope, training);
  const u1 = up(store, 'up1', d4, w3, o.upSlope, training);
  const u2 = up(store, 'up2', tf.concat([u1, d3], 3), w2, o.upSlope, training);
  const u3 = up(store, 'up3', tf.concat([u2, d2], 3), w1, o.upSlope, training);
  return up(store, 'up4', tf.concat([u3, d1], 3), 1, o.upSlope, training);
}

/**
 * K refinement steps: step 0 sees the image and an all-zero prediction, step i the image and
 * step i-1's probabilities (not detached: the gradient flows through the whole unrolled chain, as
 * in the reference). Returns the logits of every step.
 */
export function iterate(store: ParamStore, rgb: tf.Tensor4D, k: number, training: UNetMode, o: UNetOptions): tf.Tensor4D[] {
  const [n, h, w] = rgb.shape;
  let prev: tf.Tensor4D = tf.zeros([n, h, w, 1]);
  const out: tf.Tensor4D[] = [];
  for (let i = 0; i < k; i++) {
    const z = unetLogits(store, tf.concat([rgb, prev], 3), training, o);
    out.push(z);
    prev = tf.sigmoid(z);
  }
  return out;
}

/** Weight of step i (0-based) of K in the training loss: (i+1) / (K(K+1)/2); they sum to 1. */
export const stepWeight = (i: number, k: number): number => (i + 1) / ((k * (k + 1)) / 2);
