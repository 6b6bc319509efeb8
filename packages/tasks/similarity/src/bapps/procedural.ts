/**
 * Seeded procedural images and distortions of known strength for the synthetic BAPPS stand-in.
 * Images are float RGB in [0,1], HWC interleaved, square. Everything is plain arithmetic on typed
 * arrays driven by a seeded generator, so the same seed gives the same pixels on every machine.
 */
import { fillNormal, fromFloat01, gaussianBlur, resize, toFloat01, type ImageF } from '@dpl/core';

export type Rand = () => number;

/** A square float RGB image, HWC. */
export interface Picture {
  size: number;
  data: Float32Array;
}

const { floor, sin, cos, exp, PI, min, max, round, sqrt } = Math;
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const smooth = (t: number) => t * t * (3 - 2 * t);

/**
 * A texture: a value-noise field blending two colours, two or three oriented colour gratings and a
 * few soft blobs. Varied enough that distortions of different kinds change different features.
 */
export function proceduralTexture(size: number, rand: Rand): Picture {
  const data = new Float32Array(size * size * 3);
  const c0 = [rand(), rand(), rand()];
  const c1 = [rand(), rand(), rand()];
  const g = 3 + floor(rand() * 5); // lattice cells of the value noise
  const lattice = Float32Array.from({ length: (g + 1) * (g + 1) }, () => rand());
  const gratings = Array.from({ length: 2 + floor(rand() * 2) }, () => {
    const freq = ((2 + rand() * 10) / size) * 2 * PI;
    const angle = rand() * PI;
    const phase = rand() * 2 * PI;
    const amp = [0.05 + 0.15 * rand(), 0.05 + 0.15 * rand(), 0.05 + 0.15 * rand()];
    return { freq, cos: cos(angle), sin: sin(angle), phase, amp };
  });
  const blobs = Array.from({ length: 1 + floor(rand() * 4) }, () => {
    const x = rand() * size;
    const y = rand() * size;
    const r = (0.08 + 0.25 * rand()) * size;
    return { x, y, inv: 1 / (r * r), colour: [rand(), rand(), rand()], alpha: 0.3 + 0.6 * rand() };
  });
  const G = g + 1;
  const px = new Float64Array(3);
  for (let y = 0; y < size; y++) {
    const gy = (y / size) * g;
    const iy = floor(gy);
    const ty = smooth(gy - iy);
    for (let x = 0; x < size; x++) {
      const gx = (x / size) * g;
      const ix = floor(gx);
      const tx = smooth(gx - ix);
      const l = iy * G + ix;
      const top = lattice[l] * (1 - tx) + lattice[l + 1] * tx;
      const bottom = lattice[l + G] * (1 - tx) + lattice[l + G + 1] * tx;
      const m = top * (1 - ty) + bottom * ty;
      for (let c = 0; c < 3; c++) px[c] = c0[c] * (1 - m) + c1[c] * m;
      for (const gr of gratings) {
        const s = sin((x * gr.cos + y * gr.sin) * gr.freq + gr.phase);
        for (let c = 0; c < 3; c++) px[c] += gr.amp[c] * s;
      }
      for (const b of blobs) {
        const d2 = ((x - b.x) ** 2 + (y - b.y) ** 2) * b.inv;
        if (d2 > 12) continue; // exp(-12) < 1e-5: invisible
        const a = b.alpha * exp(-d2);
        for (let c = 0; c < 3; c++) px[c] = px[c] * (1 - a) + b.colour[c] * a;
      }
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = clamp01(px[c]);
    }
  }
  return { size, data };
}

export type DistortionKind = 'noise' | 'blur' | 'color' | 'blocking' | 'warp' | 'resample' | 'ghost';

const asImageF = (p: Picture): ImageF => ({ width: p.size, height: p.size, channels: 3, data: p.data });

/** Bilinear sample with edge clamping (for warps and sub-pixel shifts). */
function sample(p: Picture, x: number, y: number, c: number): number {
  const s = p.size;
  const cx = min(max(x, 0), s - 1);
  const cy = min(max(y, 0), s - 1);
  const x0 = floor(cx);
  const y0 = floor(cy);
  const x1 = min(x0 + 1, s - 1);
  const y1 = min(y0 + 1, s - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const v = (xx: number, yy: number) => p.data[(yy * s + xx) * 3 + c];
  return (v(x0, y0) * (1 - fx) + v(x1, y0) * fx) * (1 - fy) + (v(x0, y1) * (1 - fx) + v(x1, y1) * fx) * fy;
}

function mapPixels(p: Picture, f: (x: number, y: number, c: number) => number): Picture {
  const out = new Float32Array(p.data.length);
  for (let y = 0; y < p.size; y++) {
    for (let x = 0; x < p.size; x++) {
      for (let c = 0; c < 3; c++) out[(y * p.size + x) * 3 + c] = clamp01(f(x, y, c));
    }
  }
  return { size: p.size, data: out };
}

/**
 * Applies one distortion with strength `s` in [0, 1] (0 leaves the image as it is, 1 is severe).
 * Strengths are monotone: a larger `s` moves the image further from the input.
 */
function distort(p: Picture, kind: DistortionKind, s: number, rand: Rand): Picture {
  const size = p.size;
  switch (kind) {
    case 'noise': {
      const n = fillNormal(new Float32Array(p.data.length), rand, 0.2 * s);
      return mapPixels(p, (x, y, c) => p.data[(y * size + x) * 3 + c] + n[(y * size + x) * 3 + c]);
    }
    case 'blur': {
      // Pillow's Gaussian blur on the 8-bit image: what a PNG round trip would see anyway
      const blurred = gaussianBlur(fromFloat01(asImageF(p)), 0.4 + 2.1 * s);
      return { size, data: toFloat01(blurred) };
    }
    case 'color': {
      const dir = [rand() - 0.5, rand() - 0.5, rand() - 0.5];
      const norm = sqrt(dir[0] ** 2 + dir[1] ** 2 + dir[2] ** 2) || 1;
      const contrast = 1 + (rand() < 0.5 ? -0.4 : 0.4) * s;
      return mapPixels(p, (x, y, c) => (p.data[(y * size + x) * 3 + c] - 0.5) * contrast + 0.5 + (0.35 * s * dir[c]) / norm);
    }
    case 'blocking': {
      // JPEG-like: pull every 8x8 block towards its mean and quantise the levels
      const B = 8;
      const means = new Float32Array(Math.ceil(size / B) ** 2 * 3);
      const nb = Math.ceil(size / B);
      const counts = new Float32Array(nb * nb);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const b = floor(y / B) * nb + floor(x / B);
          counts[b] += 1;
          for (let c = 0; c < 3; c++) means[b * 3 + c] += p.data[(y * size + x) * 3 + c];
        }
      }
      for (let b = 0; b < counts.length; b++) for (let c = 0; c < 3; c++) means[b * 3 + c] /= counts[b];
      const levels = max(2, round(32 - 28 * s));
      return mapPixels(p, (x, y, c) => {
        const m = means[(floor(y / B) * nb + floor(x / B)) * 3 + c];
        const v = p.data[(y * size + x) * 3 + c] * (1 - 0.8 * s) + m * 0.8 * s;
        return round(v * levels) / levels;
      });
    }
    case 'warp': {
      const amp = 4 * s;
      const fx = (1 + rand() * 3) / size;
      const fy = (1 + rand() * 3) / size;
      const ph = [rand() * 2 * PI, rand() * 2 * PI];
      return mapPixels(p, (x, y, c) => sample(p, x + amp * sin(2 * PI * fy * y + ph[0]), y + amp * sin(2 * PI * fx * x + ph[1]), c));
    }
    case 'resample': {
      // super-resolution-like: down by up to 4x, back up (bilinear, as Pillow)
      const small = max(4, round(size / (1 + 3 * s)));
      const img8 = fromFloat01(asImageF(p));
      const back = resize(resize(img8, small, small, 'bilinear'), size, size, 'bilinear');
      return { size, data: toFloat01(back) };
    }
    case 'ghost': {
      // frame-interpolation-like: blend with a shifted copy
      const dx = (1 + 4 * s) * (rand() < 0.5 ? -1 : 1);
      const dy = 4 * s * (rand() - 0.5);
      const a = 0.5 * s;
      return mapPixels(p, (x, y, c) => p.data[(y * size + x) * 3 + c] * (1 - a) + sample(p, x + dx, y + dy, c) * a);
    }
  }
}

/** Applies a chain of distortions, each with strength `s`. */
export function distortChain(p: Picture, kinds: readonly DistortionKind[], s: number, rand: Rand): Picture {
  return kinds.reduce((img, k) => distort(img, k, s, rand), p);
}

/** Quantises to 8 bits and back, as a PNG round trip does (so generated labels match stored pixels). */
export function quantise(p: Picture): Picture {
  return { size: p.size, data: toFloat01(fromFloat01(asImageF(p))) };
}

/** The logistic function. */
export const logistic = (z: number): number => 1 / (1 + exp(-z));
