/**
 * A deterministic, seeded generator of natural-image-like pictures, the stand-in for COCO and the
 * SR test sets in tests and in the offline demo. Each image is a smooth two-colour gradient with
 * low-frequency shading, overlaid with 4-9 shapes (ellipses, rotated rectangles, triangles, bands)
 * whose fills are flat, graded, striped, checkered or smooth value noise, with edges from crisp
 * (anti-aliased over one pixel) to soft, plus faint pixel noise. That gives what super-resolution
 * has to recover: sharp edges, fine periodic texture near the LR Nyquist limit, and smooth areas.
 *
 * Shapes are drawn by signed distance (in pixels) with coverage clamp(0.5 - d / edge, 0, 1), so
 * edges are anti-aliased without supersampling. Everything is plain JS from mulberry32, so a seed
 * gives the same bytes on every machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashSeed, inputError, mulberry32, writePng, type Image8 } from '@dpl/core';
import { TEST_SETS, type TestSetName } from '../config';

// module-level aliases: global lookups in per-pixel loops are slow inside jest's sandbox
const { sin, cos, sqrt, abs, max, min, floor, round, PI } = Math;
const TAU = 2 * PI;

type Rand = () => number;
type Rgb = [number, number, number];
/** A fill texture in [-1, 1] at pixel (x, y). */
type Texture = (x: number, y: number) => number;

const uni = (r: Rand, lo: number, hi: number) => lo + (hi - lo) * r();
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[floor(r() * xs.length)];
const colour = (r: Rand): Rgb => [r(), r(), r()];

/** Smooth noise: a (g+1)^2 lattice of random values, bilinearly interpolated, in [-1, 1]. */
function valueNoise(r: Rand, cell: number): Texture {
  const g = 16;
  const lat = new Float64Array((g + 1) * (g + 1));
  for (let i = 0; i < lat.length; i++) lat[i] = 2 * r() - 1;
  const ox = r() * cell * 4,
    oy = r() * cell * 4;
  return (x, y) => {
    let u = (x + ox) / cell,
      v = (y + oy) / cell;
    u -= floor(u / g) * g;
    v -= floor(v / g) * g;
    const i = floor(u),
      j = floor(v),
      fu = u - i,
      fv = v - j;
    const a = lat[j * (g + 1) + i],
      b = lat[j * (g + 1) + i + 1];
    const c = lat[(j + 1) * (g + 1) + i],
      d = lat[(j + 1) * (g + 1) + i + 1];
    return (a * (1 - fu) + b * fu) * (1 - fv) + (c * (1 - fu) + d * fu) * fv;
  };
}

function texture(r: Rand, side: number): { t: Texture; amp: number } {
  const kind = pick(r, ['flat', 'flat', 'gradient', 'stripes', 'checker', 'noise'] as const);
  const phi = r() * PI;
  const cx = cos(phi),
    sy = sin(phi);
  // periods from 3 px (beyond what x4 LR can hold) to about a quarter of the image
  const period = uni(r, 3, max(4, side / 4));
  const phase = r() * TAU;
  switch (kind) {
    case 'flat':
      return { t: () => 0, amp: 0 };
    case 'gradient':
      return { t: (x, y) => ((x * cx + y * sy) / side) * 2 - 1, amp: uni(r, 0.1, 0.35) };
    case 'stripes':
      return { t: (x, y) => sin((TAU * (x * cx + y * sy)) / period + phase), amp: uni(r, 0.1, 0.35) };
    case 'checker': {
      return {
        t: (x, y) => {
          const s = sin((TAU * (x * cx + y * sy)) / period) * sin((TAU * (-x * sy + y * cx)) / period + phase);
          return max(-1, min(1, 4 * s)); // a softened square wave
        },
        amp: uni(r, 0.1, 0.3),
      };
    }
    default:
      return { t: valueNoise(r, uni(r, 2, max(3, side / 8))), amp: uni(r, 0.15, 0.4) };
  }
}

/** Signed distance in pixels (negative inside) of a random shape. */
function shape(r: Rand, w: number, h: number): (x: number, y: number) => number {
  const side = min(w, h);
  const px = uni(r, -0.1, 1.1) * w,
    py = uni(r, -0.1, 1.1) * h;
  const size = uni(r, 0.08, 0.35) * side;
  const kind = pick(r, ['ellipse', 'rect', 'triangle', 'band'] as const);
  const th = r() * PI,
    c = cos(th),
    s = sin(th);
  switch (kind) {
    case 'ellipse': {
      const a = size,
        b = size * uni(r, 0.4, 1);
      const m = min(a, b);
      return (x, y) => {
        const dx = x - px,
          dy = y - py;
        const u = (dx * c + dy * s) / a,
          v = (-dx * s + dy * c) / b;
        return (sqrt(u * u + v * v) - 1) * m;
      };
    }
    case 'rect': {
      const hx = size,
        hy = size * uni(r, 0.3, 1);
      return (x, y) => {
        const dx = x - px,
          dy = y - py;
        return max(abs(dx * c + dy * s) - hx, abs(-dx * s + dy * c) - hy);
      };
    }
    case 'triangle': {
      // three half-planes through vertices at random angles around the centre
      const angles = [0, 1, 2].map((k) => th + (k * TAU) / 3 + uni(r, -0.4, 0.4));
      const vx = angles.map((a) => px + size * cos(a)),
        vy = angles.map((a) => py + size * sin(a));
      const edges = [0, 1, 2].map((k) => {
        const x0 = vx[k],
          y0 = vy[k],
          x1 = vx[(k + 1) % 3],
          y1 = vy[(k + 1) % 3];
        let nx = y1 - y0,
          ny = x0 - x1;
        const len = sqrt(nx * nx + ny * ny) || 1;
        nx /= len;
        ny /= len;
        // orient the normal outwards (away from the centroid)
        const gx = (vx[0] + vx[1] + vx[2]) / 3,
          gy = (vy[0] + vy[1] + vy[2]) / 3;
        const sign = (gx - x0) * nx + (gy - y0) * ny > 0 ? -1 : 1;
        return [nx * sign, ny * sign, x0, y0];
      });
      return (x, y) => {
        let d = -Infinity;
        for (const [nx, ny, x0, y0] of edges) d = max(d, (x - x0) * nx + (y - y0) * ny);
        return d;
      };
    }
    default: {
      const half = uni(r, 0.01, 0.06) * side;
      return (x, y) => abs((x - px) * s - (y - py) * c) - half;
    }
  }
}

/** One synthetic RGB image of `width` x `height` from `seed`. */
export function syntheticImage(seed: number, width: number, height: number): Image8 {
  const r = mulberry32(hashSeed(seed, `sr-synthetic/${width}x${height}`));
  const side = min(width, height);
  const n = width * height;
  const img = new Float32Array(n * 3);

  // background: two-colour linear gradient plus two low-frequency shading waves
  const c0 = colour(r),
    c1 = colour(r);
  const th = r() * TAU,
    gx = cos(th),
    gy = sin(th);
  const waves = [0, 1].map(() => ({ fx: uni(r, -3, 3) / width, fy: uni(r, -3, 3) / height, ph: r() * TAU, a: uni(r, 0.02, 0.1) }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = max(0, min(1, 0.5 + ((x - width / 2) * gx + (y - height / 2) * gy) / side));
      let shade = 0;
      for (const wv of waves) shade += wv.a * sin(TAU * (wv.fx * x + wv.fy * y) + wv.ph);
      const o = 3 * (y * width + x);
      for (let k = 0; k < 3; k++) img[o + k] = c0[k] + (c1[k] - c0[k]) * t + shade;
    }
  }

  const shapes = 4 + floor(r() * 6);
  for (let i = 0; i < shapes; i++) {
    const sd = shape(r, width, height);
    const col = colour(r);
    const { t, amp } = texture(r, side);
    const tint = colour(r).map((v) => v - 0.5);
    const edge = r() < 0.7 ? 1 : uni(r, 1.5, 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const cov = max(0, min(1, 0.5 - sd(x + 0.5, y + 0.5) / edge));
        if (cov === 0) continue;
        const tv = amp === 0 ? 0 : amp * t(x, y);
        const o = 3 * (y * width + x);
        for (let k = 0; k < 3; k++) {
          const v = col[k] + tv * (1 + tint[k]);
          img[o + k] += cov * (v - img[o + k]);
        }
      }
    }
  }

  // faint sensor-like noise (uniform, +-1.5 levels), then quantise to 8 bits
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < out.length; i++) {
    const v = img[i] * 255 + (r() - 0.5) * 3;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : round(v);
  }
  return { width, height, channels: 3, data: out };
}

/** Image size for the i-th synthetic image: shorter side 1-1.5 x hrSize, aspect up to 1.5, either orientation. */
export function syntheticSize(seed: number, hrSize: number): { width: number; height: number } {
  const r = mulberry32(hashSeed(seed, 'sr-synthetic/size'));
  const short = round(hrSize * uni(r, 1, 1.5));
  const long = round(short * uni(r, 1, 1.5));
  return r() < 0.5 ? { width: long, height: short } : { width: short, height: long };
}

export interface SyntheticCounts {
  train: number;
  val: number;
  test: Partial<Record<TestSetName, number>>;
}

/** The real test sets' sizes, which the synthetic stand-in mimics by default. */
export const REAL_TEST_SIZES: Record<TestSetName, number> = { Set5: 5, Set14: 14, BSD100: 100 };

export interface SyntheticManifest {
  generator: 'dpl-sr-synthetic';
  version: 1;
  seed: number;
  hrSize: number;
  counts: SyntheticCounts;
}

const MANIFEST = 'synthetic.json';

async function writeSplit(dir: string, count: number, seed: number, hrSize: number, tag: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const s = hashSeed(seed, `${tag}/${i}`);
    const { width, height } = syntheticSize(s, hrSize);
    const img = syntheticImage(s, width, height);
    const data = new Float32Array(img.data.length);
    for (let j = 0; j < data.length; j++) data[j] = img.data[j] / 255; // writePng rounds v*255 back to the byte
    await writePng(path.join(dir, `${tag.replace(/\//g, '-')}-${String(i).padStart(5, '0')}.png`), { width, height, data });
  }
}

/**
 * Writes a synthetic dataset in the task's folder layout under `root`:
 * train/, val/ and test/<set>/ of PNGs. An identical dataset already there (same manifest) is
 * reused. Returns the manifest.
 */
export async function writeSyntheticDataset(
  root: string,
  counts: SyntheticCounts,
  hrSize: number,
  seed: number,
): Promise<SyntheticManifest> {
  const manifest: SyntheticManifest = { generator: 'dpl-sr-synthetic', version: 1, seed, hrSize, counts };
  const file = path.join(root, MANIFEST);
  if (fs.existsSync(file)) {
    let old: unknown = null;
    try {
      old = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      /* unreadable manifest: regenerate */
    }
    if (JSON.stringify(old) === JSON.stringify(manifest)) return manifest;
    // ours (or a broken copy of ours): replace it
    fs.rmSync(root, { recursive: true, force: true });
  } else if (fs.existsSync(root) && fs.readdirSync(root).length > 0) {
    // never delete a folder this generator did not write
    throw inputError(root, 'exists and is not a synthetic dataset written by dpl', 'use an empty scratch directory');
  }
  await writeSplit(path.join(root, 'train'), counts.train, seed, hrSize, 'train');
  await writeSplit(path.join(root, 'val'), counts.val, seed, hrSize, 'val');
  for (const set of TEST_SETS) {
    const n = counts.test[set];
    if (n) await writeSplit(path.join(root, 'test', set), n, seed, hrSize, `test/${set}`);
  }
  fs.writeFileSync(file, `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}
