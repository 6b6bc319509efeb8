/**
 * The `paper` preset reproduces what the study's official super-resolution code did
 * (docs/PROTOCOL.md, "Deviations"): the LR image made from the whole original, and the code's
 * PSNR / SSIM variant reported beside the standard one.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readNpy, writeNpy, writePng, type Image8 } from '@dpl/core';
import { psnrY, ssimY, rgbToY, type RgbImage } from '@dpl/metrics';
import { resolveSuperResolutionConfig } from '../src/config';
import { degrade } from '../src/data/degrade';
import { readImage8 } from '../src/data/folder';
import { syntheticImage } from '../src/data/synthetic';
import { scoreImage } from '../src/evaluate';
import { gaussianSsim, officialScores } from '../src/official-metrics';
import { superResolutionTask } from '../src/task';
import { context, PYTHON, referenceUnavailable, runReference, squeezenet, tmp, useWasm } from './helpers';

const noTorch = referenceUnavailable(['PIL', 'numpy', 'torchvision', 'skimage']);
if (noTorch) console.warn(`super-resolution protocol: the Pillow / torchvision / skimage reference tests are skipped: ${noTorch}`);
const withRef = noTorch ? it.skip : it;

beforeAll(useWasm);

const toFloat = (img: Image8) => ({ width: img.width, height: img.height, data: Float32Array.from(img.data, (v) => v / 255) });

describe('super-resolution presets', () => {
  it("'paper' and 'corrected' degrade the whole original and shave the standard metrics by the scale; 'quick' stays crop-first", () => {
    const paper = resolveSuperResolutionConfig('paper');
    expect(paper).toMatchObject({ degradation: 'official', shave: 4, scale: 4, hrSize: 288, lossNetworkMode: 'eval' });
    expect(resolveSuperResolutionConfig('corrected')).toEqual(paper);
    expect(resolveSuperResolutionConfig('quick')).toMatchObject({ degradation: 'crop-first', shave: 2 });
  });
});

describe('degradation', () => {
  const images = [syntheticImage(7, 61, 45), syntheticImage(8, 40, 75), syntheticImage(9, 48, 48)];

  it("'official' (blur the original, bicubic to the shorter side, crop) gives another LR image than 'crop-first'", () => {
    for (const img of images) {
      const a = degrade(img, { hrSize: 32, scale: 4, blurRadius: 1, degradation: 'official' });
      const b = degrade(img, { hrSize: 32, scale: 4, blurRadius: 1, degradation: 'crop-first' });
      expect(Buffer.from(a.hr.data).equals(Buffer.from(b.hr.data))).toBe(true);
      expect([a.lr.width, a.lr.height]).toEqual([8, 8]);
      let diff = 0;
      for (let i = 0; i < a.lr.data.length; i++) diff = Math.max(diff, Math.abs(a.lr.data[i] - b.lr.data[i]));
      expect(diff).toBeGreaterThan(0);
    }
  });

  withRef("'official' matches the study's Super_Resolution_Dataset (Pillow + torchvision transforms) byte for byte", async () => {
    const dir = tmp('dpl-sr-official-');
    const files: string[] = [];
    for (let i = 0; i < images.length; i++) {
      files.push(path.join(dir, `img${i}.png`));
      await writePng(files[i], toFloat(images[i]));
    }
    const job = path.join(dir, 'job');
    fs.mkdirSync(job);
    fs.writeFileSync(path.join(job, 'job.json'), JSON.stringify({ files, hrSize: 32, scale: 4, blurRadius: 1, degradation: 'official' }));
    runReference('degrade', [job]);
    for (let i = 0; i < files.length; i++) {
      const pair = degrade(await readImage8(files[i]), { hrSize: 32, scale: 4, blurRadius: 1, degradation: 'official' });
      const ref = (n: string) => Buffer.from(Uint8Array.from(readNpy(fs.readFileSync(path.join(job, `${n}_${i}.npy`)), n).data));
      expect(Buffer.from(pair.hr.data).equals(ref('hr'))).toBe(true);
      expect(Buffer.from(pair.lr.data).equals(ref('lr'))).toBe(true);
    }
  });
});

/** An image whose three channels equal v(x), a ramp over [lo, hi] along x. */
function ramp(w: number, h: number, lo: number, hi: number): RgbImage & { data: Float32Array } {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(lo + ((hi - lo) * x) / (w - 1), (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { width: w, height: h, data };
}

describe('PSNR variants', () => {
  it("on a known image: the official PSNR uses the image's own Y range, the standard one 255; only the standard one is shaved", () => {
    const hr = ramp(24, 24, 0.2, 0.6);
    // Y = 16 + 219 v for equal channels: range 219 * 0.4; a +0.01 error is 2.19 in Y
    const everywhere: RgbImage = { ...hr, data: hr.data.map((v) => v + 0.01) };
    const s = scoreImage(hr, everywhere, 4);
    expect(s.psnr).toBeCloseTo(20 * Math.log10(255 / 2.19), 4);
    expect(s.psnrShaved).toBeCloseTo(s.psnr, 4);
    expect(s.psnrOfficial).toBeCloseTo(20 * Math.log10((219 * 0.4) / 2.19), 4); // 20 log10(40) = 32.04 dB
    expect(s.psnr - s.psnrOfficial).toBeCloseTo(20 * Math.log10(255 / (219 * 0.4)), 4); // 9.3 dB apart

    // an error on the 4-pixel border only: the shaved PSNR sees none of it, the official one all of it
    const border: RgbImage = {
      ...hr,
      data: hr.data.map((v, i) => {
        const p = Math.floor(i / 3);
        const x = p % 24;
        const y = Math.floor(p / 24);
        return x < 4 || y < 4 || x >= 20 || y >= 20 ? v + 0.01 : v;
      }),
    };
    const b = scoreImage(hr, border, 4);
    expect(b.psnrShaved).toBe(Infinity);
    expect(Number.isFinite(b.psnr)).toBe(true);
    expect(Number.isFinite(b.psnrOfficial)).toBe(true);
    expect(b.psnrShaved).toBe(psnrY(hr, border, { shave: 4 }));
    expect(b.ssimShaved).toBe(ssimY(hr, border, { shave: 4 }));
  });

  withRef(
    "official SSIM: skimage's Gaussian SSIM (sigma 1.5, biased moments) at the images' larger Y range, as torchmetrics computes it",
    () => {
      const dir = tmp('dpl-sr-ssim-');
      const hr = toFloat(syntheticImage(3, 30, 27));
      const sr = toFloat(syntheticImage(4, 30, 27));
      const a = rgbToY(hr);
      const b = rgbToY(sr);
      fs.writeFileSync(path.join(dir, 'a.npy'), writeNpy([a.height, a.width], Float32Array.from(a.data)));
      fs.writeFileSync(path.join(dir, 'b.npy'), writeNpy([b.height, b.width], Float32Array.from(b.data)));
      const out = execFileSync(
        PYTHON,
        [
          '-c',
          `import sys, numpy as np
from skimage.metrics import structural_similarity
a = np.load(sys.argv[1] + '/a.npy').astype(np.float64); b = np.load(sys.argv[1] + '/b.npy').astype(np.float64)
r = max(np.ptp(a), np.ptp(b))
print(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=r))`,
          dir,
        ],
        { encoding: 'utf8' },
      );
      const ref = Number(out.trim());
      // float32 round trip of Y through the .npy files
      const a32 = { ...a, data: Float64Array.from(Float32Array.from(a.data)) };
      const b32 = { ...b, data: Float64Array.from(Float32Array.from(b.data)) };
      const range = (g: typeof a) => Math.max(...g.data) - Math.min(...g.data);
      expect(gaussianSsim(a32, b32, Math.max(range(a32), range(b32)))).toBeCloseTo(ref, 6);
      expect(officialScores(hr, hr).ssim).toBeCloseTo(1, 12);
    },
  );
});

describe('the paper preset at the paper sizes', () => {
  it('trains two steps on 288 px HR / 72 px LR images (batch 4) and reports both metric variants', async () => {
    const net = squeezenet(0);
    try {
      const ctx = {
        ...context(net, { points: ['fire2'] }),
        config: superResolutionTask.resolveConfig('paper', {
          trainImages: 4,
          valImages: 1,
          maxSteps: 2,
          validateEverySteps: 2,
          testSets: ['Set5'],
          syntheticTestImages: 1,
          samples: 0,
        }),
      };
      // frozen convs keep the rotated kernels of their first backward pass: warm up before counting
      tf.dispose(
        tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(net.extract(x as tf.Tensor4D, ['fire2']).get('fire2')!))(tf.zeros([1, 32, 32, 3]))),
      );
      const before = tf.memory().numTensors;
      const cpu0 = process.cpuUsage();
      const r = await superResolutionTask.run(ctx);
      const cpu = process.cpuUsage(cpu0);
      console.log(`super-resolution paper preset, 2 steps of 4 at 288 px: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);
      expect(tf.memory().numTensors).toBe(before);
      const d = r.detail as { sizes: { hr: number; lr: number }; training: { steps: number }; degradation: string };
      expect(d.sizes).toEqual({ hr: 288, lr: 72 });
      expect(d.training.steps).toBe(2);
      expect(d.degradation).toBe('official');
      for (const k of ['psnr', 'ssim', 'psnr_shave4', 'ssim_shave4', 'psnr_official', 'ssim_official', 'bicubic_psnr_official'])
        expect(Number.isFinite(r.metrics[k])).toBe(true);
      // the study's variant uses a Y range below 255, so its PSNR is the lower one
      expect(r.metrics.psnr_official).toBeLessThan(r.metrics.psnr);
    } finally {
      net.dispose();
    }
  }, 600_000);
});
