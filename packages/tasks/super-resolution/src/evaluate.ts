/**
 * Evaluation: run the transform network (eval-mode BatchNorm) over LR images, and score its
 * outputs and the bicubic-upsampling baseline against the HR images with PSNR / SSIM on the Y
 * channel (@dpl/metrics), plain and with a shaved border, and the study code's variant
 * (official-metrics.ts). Metrics are measured on the float outputs (no 8-bit quantisation),
 * averaged over the images of a set. Validation PSNR is per image too (the study's code averaged
 * per-batch values; docs/PROTOCOL.md, "Deviations").
 */
import * as tf from '@tensorflow/tfjs-core';
import { toFloat01, writePng, type Image8, type ParamStore } from '@dpl/core';
import { yScores, type RgbImage } from '@dpl/metrics';
import { bicubicUpsample, type SrPair } from './data/degrade';
import { officialScores } from './official-metrics';
import { transformNet, type GlobalResidual } from './model';

/** NHWC float tensor in [0, 1] of same-size 8-bit RGB images. */
export function imagesToTensor(images: readonly Image8[]): tf.Tensor4D {
  const { width, height } = images[0];
  const n = width * height * 3;
  const data = new Float32Array(images.length * n);
  images.forEach((img, i) => data.set(toFloat01(img), i * n));
  return tf.tensor4d(data, [images.length, height, width, 3]);
}

/** Pillow's bicubic upsampling of same-size LR images by `scale`, as a tensor: the global-residual base. */
export function bicubicBase(lrs: readonly Image8[], scale: number): tf.Tensor4D {
  return imagesToTensor(lrs.map((lr) => bicubicUpsample(lr, lr.width * scale, lr.height * scale)));
}

/** The network's outputs for `lrs` (HWC float [0, 1] per image), in chunks of `batchSize`. */
export async function superResolve(
  store: ParamStore,
  scale: number,
  lrs: readonly Image8[],
  batchSize: number,
  globalResidual: GlobalResidual = 'none',
): Promise<RgbImage[]> {
  const out: RgbImage[] = [];
  for (let i = 0; i < lrs.length; i += batchSize) {
    const chunk = lrs.slice(i, i + batchSize);
    const y = tf.tidy(() => {
      const x = imagesToTensor(chunk);
      return transformNet(store, x, scale, false, globalResidual === 'bicubic' ? bicubicBase(chunk, scale) : undefined);
    });
    const [, h, w] = y.shape;
    const data = (await y.data()) as Float32Array;
    y.dispose();
    const per = h * w * 3;
    chunk.forEach((_, j) => out.push({ width: w, height: h, data: data.slice(j * per, (j + 1) * per) }));
  }
  return out;
}

const asRgb = (img: Image8): RgbImage => ({ width: img.width, height: img.height, data: toFloat01(img) });

export interface Scores {
  psnr: number;
  ssim: number;
  psnrShaved: number;
  ssimShaved: number;
  /** The study's test-script variant: each image's own Y range, no shave (official-metrics.ts). */
  psnrOfficial: number;
  ssimOfficial: number;
}

export function scoreImage(hr: RgbImage, pred: RgbImage, shave: number): Scores {
  const plain = yScores(hr, pred);
  const shaved = yScores(hr, pred, { shave });
  const official = officialScores(hr, pred);
  return {
    psnr: plain.psnr,
    ssim: plain.ssim,
    psnrShaved: shaved.psnr,
    ssimShaved: shaved.ssim,
    psnrOfficial: official.psnr,
    ssimOfficial: official.ssim,
  };
}

/** The mean of each score over `list`. */
export function meanScores(list: readonly Scores[]): Scores {
  const m = (k: keyof Scores) => list.reduce((s, x) => s + x[k], 0) / list.length;
  return {
    psnr: m('psnr'),
    ssim: m('ssim'),
    psnrShaved: m('psnrShaved'),
    ssimShaved: m('ssimShaved'),
    psnrOfficial: m('psnrOfficial'),
    ssimOfficial: m('ssimOfficial'),
  };
}

export interface SetEvaluation {
  images: number;
  sr: Scores;
  bicubic: Scores;
  /** Per image, in order. */
  perImage: { sr: Scores; bicubic: Scores }[];
  /** The outputs (kept for the sample PNGs). */
  outputs: RgbImage[];
}

/** Scores the network and the bicubic baseline on `pairs`. */
export async function evaluatePairs(
  store: ParamStore,
  scale: number,
  pairs: readonly SrPair[],
  batchSize: number,
  shave: number,
  globalResidual: GlobalResidual = 'none',
): Promise<SetEvaluation> {
  const outputs = await superResolve(
    store,
    scale,
    pairs.map((p) => p.lr),
    batchSize,
    globalResidual,
  );
  const perImage = pairs.map((p, i) => {
    const hr = asRgb(p.hr);
    return { sr: scoreImage(hr, outputs[i], shave), bicubic: scoreImage(hr, asRgb(bicubicUpsample(p.lr, p.hr.width)), shave) };
  });
  return {
    images: pairs.length,
    sr: meanScores(perImage.map((x) => x.sr)),
    bicubic: meanScores(perImage.map((x) => x.bicubic)),
    perImage,
    outputs,
  };
}

/** Mean Y-PSNR of the network on `pairs`: the validation metric (higher is better). */
export async function validationPsnr(
  store: ParamStore,
  scale: number,
  pairs: readonly SrPair[],
  batchSize: number,
  globalResidual: GlobalResidual = 'none',
): Promise<number> {
  const outputs = await superResolve(
    store,
    scale,
    pairs.map((p) => p.lr),
    batchSize,
    globalResidual,
  );
  let s = 0;
  pairs.forEach((p, i) => {
    s += yScores(asRgb(p.hr), outputs[i]).psnr;
  });
  return s / pairs.length;
}

/** Mean Y-PSNR of bicubic upsampling on `pairs`: the baseline of the validation metric. */
export function bicubicValidationPsnr(pairs: readonly SrPair[]): number {
  let s = 0;
  for (const p of pairs) s += yScores(asRgb(p.hr), asRgb(bicubicUpsample(p.lr, p.hr.width, p.hr.height))).psnr;
  return s / pairs.length;
}

/**
 * One PNG of four panels side by side, each HR-sized, 4 px white gaps:
 * LR (nearest-neighbour enlarged, to show the input pixels) | bicubic | network output | HR.
 */
export async function writeComparison(file: string, pair: SrPair, output: RgbImage): Promise<void> {
  const size = pair.hr.width;
  const gap = 4;
  const width = 4 * size + 3 * gap;
  const data = new Float32Array(width * size * 3).fill(1);
  const scale = size / pair.lr.width;
  const lr = toFloat01(pair.lr);
  const panels: ((x: number, y: number, c: number) => number)[] = [
    (x, y, c) => lr[(Math.floor(y / scale) * pair.lr.width + Math.floor(x / scale)) * 3 + c],
    (
      (b) => (x: number, y: number, c: number) =>
        b[(y * size + x) * 3 + c]
    )(toFloat01(bicubicUpsample(pair.lr, size))),
    (x, y, c) => output.data[(y * size + x) * 3 + c],
    (
      (h) => (x: number, y: number, c: number) =>
        h[(y * size + x) * 3 + c]
    )(toFloat01(pair.hr)),
  ];
  panels.forEach((px, p) => {
    const x0 = p * (size + gap);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) data[(y * width + x0 + x) * 3 + c] = px(x, y, c);
  });
  await writePng(file, { width, height: size, data });
}
