/**
 * PSNR and SSIM on the luma (Y) channel, as the super-resolution benchmark reports them
 * (docs/PROTOCOL.md section 4).
 *
 * - Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB in [0, 1] (ITU-R BT.601 "studio swing"),
 *   i.e. Y on a 0..255 scale with values in [16, 235]. Computed in float64, no quantisation.
 * - `dataRange` defaults to 255: the reference code's exact argument is not visible to us; 255 is
 *   the conventional choice for Y on the 0..255 scale (MATLAB-style SR evaluation) and is what
 *   the published PSNR magnitudes of such studies correspond to. It is a parameter so a different
 *   reading (e.g. 219 = 235 - 16) can be reproduced.
 * - PSNR = 10 log10(dataRange^2 / MSE), as skimage's `peak_signal_noise_ratio`; +Infinity when
 *   the images are identical (skimage returns inf there too).
 * - SSIM matches skimage 0.19 `structural_similarity` with its defaults for a 2-D grayscale
 *   image: 7x7 uniform window, K1 = 0.01, K2 = 0.03, sample covariance (N/(N-1) with N = 49),
 *   the given data range, and the mean of the SSIM map after cropping (win-1)/2 = 3 pixels from
 *   each side. Because of that crop every averaged window lies fully inside the image, so
 *   skimage's filter boundary mode never matters and we only compute those windows.
 * - `shave` crops that many pixels from every border of Y before either metric (the study also
 *   reports a 2-pixel shaved variant).
 */
import { metricsInputError } from './errors';

/** An RGB image, values in [0, 1], interleaved HWC (row-major, 3 values per pixel). */
export interface RgbImage {
  data: ArrayLike<number>;
  height: number;
  width: number;
}

/** A single-channel image, row-major. */
export interface GrayImage {
  data: Float64Array;
  height: number;
  width: number;
}

/** Options of the Y-channel PSNR and SSIM: data range and border shave. */
export interface YMetricOptions {
  /** Peak value for PSNR / SSIM constants, on the Y 0..255 scale. Default 255. */
  dataRange?: number;
  /** Pixels cropped from each border of Y before measuring. Default 0. */
  shave?: number;
}

/** SSIM's parameters: data range, window side and the stability constants k1, k2. */
export interface SsimOptions {
  dataRange: number;
  /** Odd window side. Default 7 (skimage's default). */
  winSize?: number;
  k1?: number;
  k2?: number;
}

/** The peak value of the Y channel on its 0..255 scale. */
export const Y_DATA_RANGE = 255;

function checkRgb(name: string, img: RgbImage): void {
  const { height, width, data } = img;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw metricsInputError(name, `has invalid size ${height}x${width}`, 'height and width must be positive integers');
  }
  if (data.length !== height * width * 3) {
    throw metricsInputError(
      name,
      `has ${data.length} values, expected ${height}x${width}x3 = ${height * width * 3}`,
      'pass interleaved HWC RGB data',
    );
  }
}

/** RGB in [0, 1] (HWC) -> Y on the 0..255 scale ([16, 235]). */
export function rgbToY(img: RgbImage): GrayImage {
  checkRgb('image', img);
  const n = img.height * img.width;
  const y = new Float64Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    y[i] = 16 + 65.481 * d[3 * i] + 128.553 * d[3 * i + 1] + 24.966 * d[3 * i + 2];
  }
  return { data: y, height: img.height, width: img.width };
}

/** Crops `shave` pixels from every border. */
export function shaveBorder(img: GrayImage, shave: number): GrayImage {
  if (!Number.isInteger(shave) || shave < 0) throw metricsInputError('shave', `is ${shave}`, 'use a non-negative integer');
  if (shave === 0) return img;
  const h = img.height - 2 * shave;
  const w = img.width - 2 * shave;
  if (h <= 0 || w <= 0) {
    throw metricsInputError('shave', `${shave} leaves nothing of a ${img.height}x${img.width} image`, 'use a smaller shave');
  }
  const out = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    const src = (r + shave) * img.width + shave;
    out.set(img.data.subarray(src, src + w), r * w);
  }
  return { data: out, height: h, width: w };
}

function checkPair(a: GrayImage, b: GrayImage): void {
  if (a.height !== b.height || a.width !== b.width) {
    throw metricsInputError(
      'prediction',
      `is ${b.height}x${b.width} but the ground truth is ${a.height}x${a.width}`,
      'compare images of the same size',
    );
  }
}

function checkRange(dataRange: number): void {
  if (!(dataRange > 0) || !Number.isFinite(dataRange))
    throw metricsInputError('dataRange', `is ${dataRange}`, 'use a positive finite number');
}

/** PSNR of two single-channel images (skimage `peak_signal_noise_ratio`). */
export function psnrGray(gt: GrayImage, pred: GrayImage, dataRange: number): number {
  checkPair(gt, pred);
  checkRange(dataRange);
  let s = 0;
  const n = gt.data.length;
  for (let i = 0; i < n; i++) {
    const e = gt.data[i] - pred.data[i];
    s += e * e;
  }
  const mse = s / n;
  return 10 * Math.log10((dataRange * dataRange) / mse);
}

/** Mean SSIM of two single-channel images (skimage 0.19 `structural_similarity`, 2-D, uniform window). */
export function ssimGray(gt: GrayImage, pred: GrayImage, opts: SsimOptions): number {
  checkPair(gt, pred);
  checkRange(opts.dataRange);
  const win = opts.winSize ?? 7;
  const k1 = opts.k1 ?? 0.01;
  const k2 = opts.k2 ?? 0.03;
  if (!Number.isInteger(win) || win < 3 || win % 2 === 0) throw metricsInputError('winSize', `is ${win}`, 'use an odd integer >= 3');
  const { height: h, width: w } = gt;
  if (h < win || w < win) {
    throw metricsInputError(
      'image',
      `is ${h}x${w}, smaller than the ${win}x${win} SSIM window`,
      `use images of at least ${win}x${win} (after shaving)`,
    );
  }
  const x = gt.data;
  const y = pred.data;
  const ow = w - win + 1;
  const oh = h - win + 1;
  // Horizontal window sums of x, y, x^2, y^2, xy for every row and every valid column start.
  const hx = new Float64Array(h * ow);
  const hy = new Float64Array(h * ow);
  const hxx = new Float64Array(h * ow);
  const hyy = new Float64Array(h * ow);
  const hxy = new Float64Array(h * ow);
  for (let r = 0; r < h; r++) {
    const row = r * w;
    for (let c = 0; c < ow; c++) {
      let sx = 0,
        sy = 0,
        sxx = 0,
        syy = 0,
        sxy = 0;
      for (let k = 0; k < win; k++) {
        const a = x[row + c + k];
        const b = y[row + c + k];
        sx += a;
        sy += b;
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
      }
      const o = r * ow + c;
      hx[o] = sx;
      hy[o] = sy;
      hxx[o] = sxx;
      hyy[o] = syy;
      hxy[o] = sxy;
    }
  }
  const np = win * win;
  const covNorm = np / (np - 1);
  const c1 = (k1 * opts.dataRange) ** 2;
  const c2 = (k2 * opts.dataRange) ** 2;
  let total = 0;
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      let sx = 0,
        sy = 0,
        sxx = 0,
        syy = 0,
        sxy = 0;
      for (let k = 0; k < win; k++) {
        const o = (r + k) * ow + c;
        sx += hx[o];
        sy += hy[o];
        sxx += hxx[o];
        syy += hyy[o];
        sxy += hxy[o];
      }
      const ux = sx / np;
      const uy = sy / np;
      const vx = covNorm * (sxx / np - ux * ux);
      const vy = covNorm * (syy / np - uy * uy);
      const vxy = covNorm * (sxy / np - ux * uy);
      const a1 = 2 * ux * uy + c1;
      const a2 = 2 * vxy + c2;
      const b1 = ux * ux + uy * uy + c1;
      const b2 = vx + vy + c2;
      total += (a1 * a2) / (b1 * b2);
    }
  }
  return total / (oh * ow);
}

function yPair(gt: RgbImage, pred: RgbImage, shave: number): [GrayImage, GrayImage] {
  checkRgb('ground truth', gt);
  checkRgb('prediction', pred);
  const a = rgbToY(gt);
  const b = rgbToY(pred);
  checkPair(a, b);
  return [shaveBorder(a, shave), shaveBorder(b, shave)];
}

/** PSNR on Y of two RGB images in [0, 1]. */
export function psnrY(gt: RgbImage, pred: RgbImage, opts: YMetricOptions = {}): number {
  const [a, b] = yPair(gt, pred, opts.shave ?? 0);
  return psnrGray(a, b, opts.dataRange ?? Y_DATA_RANGE);
}

/** SSIM on Y of two RGB images in [0, 1]. */
export function ssimY(gt: RgbImage, pred: RgbImage, opts: YMetricOptions = {}): number {
  const [a, b] = yPair(gt, pred, opts.shave ?? 0);
  return ssimGray(a, b, { dataRange: opts.dataRange ?? Y_DATA_RANGE });
}

/** PSNR and SSIM of one image pair on the Y channel. */
export interface YScores {
  psnr: number;
  ssim: number;
}

/** PSNR and SSIM on Y in one pass over the colour conversion. */
export function yScores(gt: RgbImage, pred: RgbImage, opts: YMetricOptions = {}): YScores {
  const [a, b] = yPair(gt, pred, opts.shave ?? 0);
  const dataRange = opts.dataRange ?? Y_DATA_RANGE;
  return { psnr: psnrGray(a, b, dataRange), ssim: ssimGray(a, b, { dataRange }) };
}
