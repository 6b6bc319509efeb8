import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { mulberry32, psnrGray, psnrY, rgbToY, RgbImage, shaveBorder, ssimGray, ssimY, yScores } from '../src';
import { pythonMissing, runPythonJson } from './python';

function randomImage(rng: () => number, h: number, w: number): Float32Array {
  return Float32Array.from({ length: h * w * 3 }, () => rng());
}

/** A smooth colour gradient with gentle ripples, plus a degraded copy (noise, clipped). */
function smoothPair(rng: () => number, h: number, w: number, noise: number): [Float32Array, Float32Array] {
  const a = new Float32Array(h * w * 3);
  const b = new Float32Array(h * w * 3);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      for (let k = 0; k < 3; k++) {
        const v = 0.5 + 0.4 * Math.sin((r + 1) / (h / 2 + k)) * Math.cos((c * (k + 1)) / w);
        const i = (r * w + c) * 3 + k;
        a[i] = v;
        b[i] = Math.min(1, Math.max(0, v + noise * (rng() - 0.5)));
      }
    }
  }
  return [a, b];
}

describe('PSNR / SSIM on Y (hand checks)', () => {
  it('RGB -> Y maps black to 16 and white to 235', () => {
    const y = rgbToY({ data: [0, 0, 0, 1, 1, 1, 1, 0, 0], height: 1, width: 3 }).data;
    expect(y[0]).toBe(16);
    expect(y[1]).toBeCloseTo(235, 12);
    expect(y[2]).toBeCloseTo(16 + 65.481, 12);
  });

  it('PSNR of a constant offset: 10 log10(255^2 / e^2)', () => {
    const a = { data: new Float64Array(12).fill(100), height: 3, width: 4 };
    const b = { data: new Float64Array(12).fill(105), height: 3, width: 4 };
    expect(psnrGray(a, b, 255)).toBeCloseTo(10 * Math.log10((255 * 255) / 25), 12);
    expect(psnrGray(a, a, 255)).toBe(Infinity);
  });

  it('SSIM of identical images is 1, and of two constant images follows the luminance term', () => {
    const rng = mulberry32(3);
    const img: RgbImage = { data: randomImage(rng, 9, 11), height: 9, width: 11 };
    expect(ssimY(img, img)).toBeCloseTo(1, 14);
    const a = { data: new Float64Array(64).fill(50), height: 8, width: 8 };
    const b = { data: new Float64Array(64).fill(60), height: 8, width: 8 };
    const c1 = (0.01 * 255) ** 2;
    expect(ssimGray(a, b, { dataRange: 255 })).toBeCloseTo((2 * 50 * 60 + c1) / (50 * 50 + 60 * 60 + c1), 14);
  });

  it('shave crops the border', () => {
    const g = { data: Float64Array.from({ length: 20 }, (_, i) => i), height: 4, width: 5 };
    const s = shaveBorder(g, 1);
    expect([s.height, s.width]).toEqual([2, 3]);
    expect(Array.from(s.data)).toEqual([6, 7, 8, 11, 12, 13]);
    expect(() => shaveBorder(g, 2)).toThrow(/shave/);
  });

  it('rejects bad sizes', () => {
    const img: RgbImage = { data: new Float32Array(6 * 6 * 3), height: 6, width: 6 };
    expect(() => ssimY(img, img)).toThrow(/7x7/);
    expect(() => psnrY(img, { ...img, data: new Float32Array(5) })).toThrow(/prediction/);
  });
});

const missing = pythonMissing(['numpy', 'skimage.metrics']);
if (missing) console.warn(`skipping PSNR/SSIM skimage parity: ${missing}`);

describe('PSNR / SSIM parity with skimage', () => {
  (missing ? it.skip : it)('matches peak_signal_noise_ratio / structural_similarity on Y, with and without shave', () => {
    const rng = mulberry32(2024);
    const cases: { h: number; w: number; gt: Float32Array; pred: Float32Array; dataRange: number; shave: number }[] = [];
    for (const [h, w] of [
      [7, 7],
      [11, 16],
      [17, 23],
      [32, 45],
      [64, 64],
    ]) {
      const gt = randomImage(rng, h, w);
      const pred = gt.map((v) => Math.min(1, Math.max(0, v + 0.2 * (rng() - 0.5))));
      cases.push({ h, w, gt, pred, dataRange: 255, shave: 0 });
      cases.push({ h, w, gt, pred: randomImage(rng, h, w), dataRange: 255, shave: 0 }); // unrelated: low SSIM
      const [a, b] = smoothPair(rng, h, w, 0.02);
      cases.push({ h, w, gt: a, pred: b, dataRange: 255, shave: 0 });
      if (h >= 11) {
        cases.push({ h, w, gt: a, pred: b, dataRange: 255, shave: 2 });
        cases.push({ h, w, gt, pred, dataRange: 219, shave: 2 });
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'dpl-metrics-'));
    try {
      const manifest = cases.map((c, i) => {
        const f = join(dir, `case${i}.bin`);
        writeFileSync(f, Buffer.concat([Buffer.from(c.gt.buffer), Buffer.from(c.pred.buffer)]));
        return { file: f, h: c.h, w: c.w, dataRange: c.dataRange, shave: c.shave };
      });
      const script = `
import json, sys
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
out = []
for c in json.load(sys.stdin):
    h, w, s = c['h'], c['w'], c['shave']
    raw = np.fromfile(c['file'], dtype='<f4').astype(np.float64)
    gt, pred = raw[:h*w*3].reshape(h, w, 3), raw[h*w*3:].reshape(h, w, 3)
    def y(im):
        return 16.0 + 65.481 * im[..., 0] + 128.553 * im[..., 1] + 24.966 * im[..., 2]
    a, b = y(gt), y(pred)
    if s > 0:
        a, b = a[s:-s, s:-s], b[s:-s, s:-s]
    out.append([float(peak_signal_noise_ratio(a, b, data_range=c['dataRange'])),
                float(structural_similarity(a, b, data_range=c['dataRange']))])
print(json.dumps(out))
`;
      const ref = runPythonJson<[number, number][]>(script, JSON.stringify(manifest));
      let maxP = 0;
      let maxS = 0;
      cases.forEach((c, i) => {
        const gt: RgbImage = { data: c.gt, height: c.h, width: c.w };
        const pred: RgbImage = { data: c.pred, height: c.h, width: c.w };
        const opts = { dataRange: c.dataRange, shave: c.shave };
        const both = yScores(gt, pred, opts);
        expect(psnrY(gt, pred, opts)).toBe(both.psnr);
        expect(ssimY(gt, pred, opts)).toBe(both.ssim);
        const rp = Math.abs(both.psnr - ref[i][0]) / Math.abs(ref[i][0]);
        const rs = Math.abs(both.ssim - ref[i][1]) / Math.abs(ref[i][1]);
        maxP = Math.max(maxP, rp);
        maxS = Math.max(maxS, rs);
        expect(rp).toBeLessThan(1e-6);
        expect(rs).toBeLessThan(1e-6);
      });
      console.log(
        `skimage parity over ${cases.length} cases: max rel diff PSNR ${maxP.toExponential(2)}, SSIM ${maxS.toExponential(2)}; ` +
          `SSIM range ${Math.min(...ref.map((r) => r[1])).toFixed(4)}..${Math.max(...ref.map((r) => r[1])).toFixed(4)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
