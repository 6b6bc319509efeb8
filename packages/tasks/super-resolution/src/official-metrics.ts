/**
 * The study's own "test PSNR" and tensor SSIM (docs/PROTOCOL.md, "Deviations": the SR metric
 * variants), reported beside the standard Y-PSNR / SSIM under their own names. Its test script
 * fed the Y channel (BT.601 on the 0..255 scale, not quantised) of one image at a time to
 * torchmetrics' PeakSignalNoiseRatio() and StructuralSimilarityIndexMeasure() without a data
 * range, so:
 *  - PSNR uses that image's own Y range, max(Y_hr) - min(Y_hr), and no border shave;
 *  - SSIM uses an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, Gaussian-weighted
 *    (biased) moments, the data range max(range(Y_sr), range(Y_hr)), and the mean over the
 *    windows that lie fully inside the image (torchmetrics pads and crops the padded border back).
 */
import { psnrGray, rgbToY, type GrayImage, type RgbImage } from '@dpl/metrics';

const range = (img: GrayImage): number => {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of img.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo;
};

/** Normalised 1-D Gaussian of `size` taps (torchmetrics' _gaussian). */
function gaussian(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  let s = 0;
  for (let i = 0; i < size; i++) {
    const d = i - (size - 1) / 2;
    g[i] = Math.exp(-((d / sigma) ** 2) / 2);
    s += g[i];
  }
  return g.map((v) => v / s);
}

/** Gaussian-window SSIM over the fully-inside windows (the torchmetrics 0.11 computation). */
export function gaussianSsim(gt: GrayImage, pred: GrayImage, dataRange: number, win = 11, sigma = 1.5): number {
  const { width: w, height: h } = gt;
  const oh = h - win + 1;
  const ow = w - win + 1;
  if (oh < 1 || ow < 1) return NaN;
  const g = gaussian(win, sigma);
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  // separable filtering of x, y, x^2, y^2, xy: rows first (valid), then columns (valid)
  const inputs = [gt.data, pred.data].map((d) => d);
  const maps = [
    (i: number) => inputs[0][i],
    (i: number) => inputs[1][i],
    (i: number) => inputs[0][i] * inputs[0][i],
    (i: number) => inputs[1][i] * inputs[1][i],
    (i: number) => inputs[0][i] * inputs[1][i],
  ].map((f) => {
    const rows = new Float64Array(h * ow);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let k = 0; k < win; k++) s += g[k] * f(y * w + x + k);
        rows[y * ow + x] = s;
      }
    const out = new Float64Array(oh * ow);
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let k = 0; k < win; k++) s += g[k] * rows[(y + k) * ow + x];
        out[y * ow + x] = s;
      }
    return out;
  });
  const [mx, my, xx, yy, xy] = maps;
  let total = 0;
  for (let i = 0; i < oh * ow; i++) {
    const vx = xx[i] - mx[i] * mx[i];
    const vy = yy[i] - my[i] * my[i];
    const cov = xy[i] - mx[i] * my[i];
    total += ((2 * mx[i] * my[i] + c1) * (2 * cov + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
  }
  return total / (oh * ow);
}

export interface OfficialScores {
  psnr: number;
  ssim: number;
}

/** The study's test-script PSNR and tensor SSIM of one image (HR first). */
export function officialScores(hr: RgbImage, sr: RgbImage): OfficialScores {
  const a = rgbToY(hr);
  const b = rgbToY(sr);
  return { psnr: psnrGray(a, b, range(a)), ssim: gaussianSsim(a, b, Math.max(range(a), range(b))) };
}
