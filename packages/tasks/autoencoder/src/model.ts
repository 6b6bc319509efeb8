/**
 * The autoencoder of the study (docs/PROTOCOL.md section 6, after Pihlgren et al. 2020), NHWC.
 *
 * Encoder: 4 x [4x4 conv stride 2, no padding, + BN + ReLU] (32, 64, 128, 256 channels), flatten,
 * linear to the code (64). Decoder: linear code -> C0*g*g + ReLU with g = (H - 64)/16 + 1,
 * reshape to g x g x C0 (C0 = 1024), transposed convs C0->128 (k5 s2), 128->64 (k5 s2),
 * 64->32 (k6 s2) each + BN + ReLU, then 32->3 (k6 s2) + sigmoid.
 *
 * Sizes: a side of H = 64 + 16k goes 31 + 8k, 14 + 4k, 6 + 2k, 2 + k through the encoder and
 * g -> 2g + 3 -> 4g + 9 -> 8g + 22 -> 16g + 48 = H through the decoder, so the reconstruction has
 * the input's size exactly for every such H: 64 (SVHN padded, g = 1) and 96 (STL-10, g = 3). Other
 * sizes (32 among them: its encoder output would be empty) are refused.
 *
 * Flatten / reshape order is NHWC's (H, W, C), PyTorch's is (C, H, W): the same model up to a
 * permutation of the linear layers' rows / columns, which matters only when porting weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configError, inputError, nn, type ParamStore } from '@dpl/core';

export interface AutoencoderShape {
  /** Channels of the four encoder convs (paper: 32, 64, 128, 256). */
  encoderChannels: number[];
  /** Width of the decoder's linear layer, then of its three hidden transposed convs (paper: 1024, 128, 64, 32). */
  decoderChannels: number[];
  /** Code size (paper: 64). */
  codeSize: number;
}

export const PAPER_SHAPE: AutoencoderShape = { encoderChannels: [32, 64, 128, 256], decoderChannels: [1024, 128, 64, 32], codeSize: 64 };

const ENCODER_K = 4;
const DECODER_K = [5, 5, 6, 6];

/** Side length after one 4x4 stride-2 conv without padding. */
const convOut = (h: number) => Math.floor((h - ENCODER_K) / 2) + 1;
/** Side length after a stride-2 transposed conv with kernel k and no padding. */
const convTOut = (h: number, k: number) => (h - 1) * 2 + k;

/** Side lengths through the encoder: [input, after conv1, ..., after conv4]. */
export function encoderSides(h: number): number[] {
  const out = [h];
  for (let i = 0; i < 4; i++) out.push(convOut(out[i]));
  return out;
}

/** Side lengths through the decoder from the grid g: [g, after convT1, ..., after convT4]. */
export function decoderSides(g: number): number[] {
  const out = [g];
  DECODER_K.forEach((k, i) => out.push(convTOut(out[i], k)));
  return out;
}

/** g = (H - 64)/16 + 1, after checking that the model reconstructs an H x H image at its own size. */
export function gridSize(h: number, source = 'image size'): number {
  const g = (h - 64) / 16 + 1;
  if (!Number.isInteger(g) || g < 1) {
    throw inputError(
      source,
      `is ${h}, which the autoencoder cannot reconstruct at its own size`,
      'use square images of side 64 + 16k (64: SVHN reflect-padded; 96: STL-10)',
    );
  }
  const d = decoderSides(g);
  if (d[d.length - 1] !== h || encoderSides(h)[4] < 1)
    throw new Error(`autoencoder size arithmetic broke for ${h} (decoder gives ${d.join(' -> ')})`);
  return g;
}

export function checkShape(s: AutoencoderShape): AutoencoderShape {
  const ok = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((v) => Number.isInteger(v) && v >= 1);
  if (!ok(s.encoderChannels, 4))
    throw configError(
      "config key 'encoderChannels'",
      `has the value ${JSON.stringify(s.encoderChannels)}`,
      'use four positive integers (paper: [32, 64, 128, 256])',
    );
  if (!ok(s.decoderChannels, 4))
    throw configError(
      "config key 'decoderChannels'",
      `has the value ${JSON.stringify(s.decoderChannels)}`,
      'use four positive integers (paper: [1024, 128, 64, 32])',
    );
  if (!Number.isInteger(s.codeSize) || s.codeSize < 1)
    throw configError("config key 'codeSize'", `has the value ${JSON.stringify(s.codeSize)}`, 'use a positive integer (paper: 64)');
  return s;
}

/** Images [N, H, H, 3] in [0, 1] -> codes [N, codeSize]. */
export function encode(store: ParamStore, x: tf.Tensor4D, training: boolean, shape: AutoencoderShape): tf.Tensor2D {
  return tf.tidy(() => {
    let h = x;
    shape.encoderChannels.forEach((c, i) => {
      h = nn.conv(store, `enc${i + 1}`, h, { out: c, k: ENCODER_K, stride: 2 });
      h = tf.relu(nn.batchNorm(store, `enc${i + 1}.bn`, h, training));
    });
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    return nn.linear(store, 'code', flat, { out: shape.codeSize });
  });
}

/** Codes [N, codeSize] -> images [N, H, H, 3] in (0, 1), H = 16g + 48. */
export function decode(store: ParamStore, z: tf.Tensor2D, g: number, training: boolean, shape: AutoencoderShape): tf.Tensor4D {
  return tf.tidy(() => {
    const [c0, ...hidden] = shape.decoderChannels;
    const lin = tf.relu(nn.linear(store, 'dec.linear', z, { out: c0 * g * g }));
    let h = tf.reshape(lin, [z.shape[0], g, g, c0]) as tf.Tensor4D;
    hidden.forEach((c, i) => {
      h = nn.convTranspose(store, `dec${i + 1}`, h, { out: c, k: DECODER_K[i], stride: 2 });
      h = tf.relu(nn.batchNorm(store, `dec${i + 1}.bn`, h, training));
    });
    return tf.sigmoid(nn.convTranspose(store, 'dec4', h, { out: 3, k: DECODER_K[3], stride: 2 }));
  });
}

/** Reconstruction of x (same shape). */
export function reconstruct(store: ParamStore, x: tf.Tensor4D, training: boolean, shape: AutoencoderShape): tf.Tensor4D {
  const g = gridSize(x.shape[1]);
  return tf.tidy(() => decode(store, encode(store, x, training, shape), g, training, shape));
}

/** Creates every parameter (one eval-mode pass on a zero batch of size-`side` images). */
export function buildAutoencoder(store: ParamStore, side: number, shape: AutoencoderShape): void {
  gridSize(side);
  store.build(() => reconstruct(store, tf.zeros([1, side, side, 3]) as tf.Tensor4D, false, shape));
}
