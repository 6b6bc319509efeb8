/**
 * A deterministic synthetic stand-in for STL-10 / SVHN: 10 classes of procedurally drawn objects
 * on varied backgrounds, for the tests and the offline demo. The class is carried by the shape
 * alone: object colour, position, size, rotation and the background (solid, gradient or wave
 * texture) are drawn at random per image, so hue says nothing about the class.
 *
 * Backgrounds are darker than the object in every channel (an object is visible by its luminance
 * whatever the hues); position, size and rotation jitter a little.
 *
 * Classes: 0 disc, 1 square, 2 triangle, 3 ring, 4 horizontal stripes, 5 vertical stripes,
 * 6 blob cluster, 7 plus, 8 glyph '7', 9 glyph '4'. Each image comes from its own stream
 * mulberry32(hashSeed(seed, '<split>/<i>')); image i has class i mod 10 (balanced splits).
 *
 * On disk it uses the STL-10 binary layout (openStl10 reads it) at its own side, with a
 * manifest (synthetic.json) naming the side, seed and counts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashSeed, inputError, mulberry32 } from '@dpl/core';
import { toStl10Layout } from './stl10';

export const SYNTHETIC_CLASSES = [
  'disc',
  'square',
  'triangle',
  'ring',
  'hstripes',
  'vstripes',
  'blobs',
  'plus',
  'glyph7',
  'glyph4',
] as const;
export const SYNTHETIC_FORMAT = 'dpl-synthetic-stl10';

// module-level aliases: global lookups in hot loops are slow inside jest's sandbox
const { abs, sqrt, sin, cos, exp, min, max, round, PI } = Math;
/** Math.hypot is several times slower than this in V8. */
const hypot = (x: number, y: number) => sqrt(x * x + y * y);

type Rand = () => number;
type Rgb = [number, number, number];
type Sdf = (x: number, y: number) => number;

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
/** Backgrounds are darker and objects lighter in every channel: the class is in the luminance map, hue varies freely. */
const darkColor = (r: Rand): Rgb => [0.5 * r(), 0.5 * r(), 0.5 * r()];
const lightColor = (r: Rand): Rgb => [0.6 + 0.4 * r(), 0.6 + 0.4 * r(), 0.6 + 0.4 * r()];
const between = (r: Rand, lo: number, hi: number) => lo + (hi - lo) * r();

/** Signed distance to an axis-aligned box of half-sizes (hw, hh). */
function boxSd(x: number, y: number, hw: number, hh: number): number {
  const dx = abs(x) - hw;
  const dy = abs(y) - hh;
  const outside = hypot(max(dx, 0), max(dy, 0));
  return outside + min(max(dx, dy), 0);
}

/** Distance to the segment (ax, ay)-(bx, by). */
function segDist(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const vx = bx - ax;
  const vy = by - ay;
  const t = clamp01(((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy));
  return hypot(x - ax - t * vx, y - ay - t * vy);
}

/** Signed distance to a polyline of strokes of half-thickness th (segments as [ax, ay, bx, by]). */
const strokes =
  (segs: number[][], th: number): Sdf =>
  (x, y) => {
    let d = Infinity;
    for (let i = 0; i < segs.length; i++) d = min(d, segDist(x, y, segs[i][0], segs[i][1], segs[i][2], segs[i][3]));
    return d - th;
  };

/** The shape of class `cls` at radius r as a signed distance (negative inside) in object coordinates. */
function shapeOf(cls: number, r: number, rand: Rand): Sdf {
  switch (cls) {
    case 0:
      return (x, y) => hypot(x, y) - r;
    case 1:
      return (x, y) => boxSd(x, y, 0.8 * r, 0.8 * r);
    case 2: {
      // equilateral triangle, circumradius r: the max over its three edge half-planes
      const ri = 0.5 * r;
      const n = [0, 1, 2].map((k) => -PI / 2 + (2 * PI * k) / 3 + PI / 3).map((t) => [cos(t), sin(t)]);
      return (x, y) => max(x * n[0][0] + y * n[0][1], x * n[1][0] + y * n[1][1], x * n[2][0] + y * n[2][1]) - ri;
    }
    case 3:
      return (x, y) => abs(hypot(x, y) - 0.72 * r) - 0.2 * r;
    case 4:
    case 5: {
      const period = r * between(rand, 0.45, 0.6);
      const phase = rand() * period;
      const horizontal = cls === 4;
      return (x, y) => {
        const t = horizontal ? y : x;
        const stripe = -sin((2 * PI * (t + phase)) / period) * (period / (2 * PI)); // ~ signed distance to the stripe edges
        return max(boxSd(x, y, 0.9 * r, 0.9 * r), stripe);
      };
    }
    case 6: {
      const n = 3 + Math.floor(rand() * 3);
      const c: number[][] = [];
      for (let i = 0; i < n; i++) {
        const a = rand() * 2 * PI;
        const d = r * between(rand, 0.2, 0.65);
        c.push([d * cos(a), d * sin(a), r * between(rand, 0.22, 0.32)]);
      }
      return (x, y) => {
        let f = 0;
        for (let i = 0; i < c.length; i++) {
          const dx = x - c[i][0];
          const dy = y - c[i][1];
          f += exp(-(dx * dx + dy * dy) / (2 * c[i][2] * c[i][2]));
        }
        return (0.5 - f) * r * 0.5;
      };
    }
    case 7:
      return (x, y) => min(boxSd(x, y, 0.9 * r, 0.22 * r), boxSd(x, y, 0.22 * r, 0.9 * r));
    case 8:
      return strokes(
        [
          [-0.65 * r, -0.8 * r, 0.65 * r, -0.8 * r],
          [0.65 * r, -0.8 * r, -0.15 * r, 0.9 * r],
        ],
        0.17 * r,
      );
    case 9:
      return strokes(
        [
          [0.35 * r, -0.9 * r, -0.65 * r, 0.3 * r],
          [-0.65 * r, 0.3 * r, 0.65 * r, 0.3 * r],
          [0.35 * r, -0.9 * r, 0.35 * r, 0.9 * r],
        ],
        0.17 * r,
      );
    default:
      throw inputError(`synthetic class ${cls}`, 'does not exist', 'use 0..9');
  }
}

/** The background: colours a and b mixed by t(x, y) in [0, 1] (solid, linear gradient or two crossed waves). */
function backgroundOf(rand: Rand, side: number): { a: Rgb; b: Rgb; t: (x: number, y: number) => number } {
  const kind = Math.floor(rand() * 3);
  const a = darkColor(rand);
  const b = darkColor(rand);
  if (kind === 0) return { a, b, t: () => 0 };
  const ang = rand() * 2 * PI;
  const ux = cos(ang);
  const uy = sin(ang);
  const h = side / 2;
  if (kind === 1) return { a, b, t: (x, y) => clamp01(0.5 + ((x - h) * ux + (y - h) * uy) / side) };
  const f1 = (between(rand, 1, 3) * 2 * PI) / side;
  const f2 = (between(rand, 1, 3) * 2 * PI) / side;
  return { a, b, t: (x, y) => 0.5 + 0.25 * sin(f1 * (x * ux + y * uy)) + 0.25 * sin(f2 * (x * uy - y * ux)) };
}

/** One side x side RGB image of class `cls`, HWC uint8, drawn from `rand`. */
export function drawSynthetic(cls: number, side: number, rand: Rand): Uint8Array {
  const bg = backgroundOf(rand, side);
  const r = side * between(rand, 0.3, 0.38);
  const cx = side / 2 + side * between(rand, -0.06, 0.06);
  const cy = side / 2 + side * between(rand, -0.06, 0.06);
  // a little rotation (stripes, plus and glyphs keep their orientation: it is the class); blobs turn freely
  const turn = cls === 6 ? rand() * 2 * PI : between(rand, -1, 1) * (cls === 4 || cls === 5 ? 0.15 : cls >= 7 ? 0.2 : 0.3);
  const ct = cos(turn);
  const st = sin(turn);
  const sd = shapeOf(cls, r, rand);
  const fg = lightColor(rand);
  const noise = 0.02 + 0.03 * rand();
  const [a0, a1, a2] = bg.a;
  const d0 = bg.b[0] - a0;
  const d1 = bg.b[1] - a1;
  const d2 = bg.b[2] - a2;
  const out = new Uint8Array(side * side * 3);
  const put = (o: number, v: number) => {
    out[o] = round(clamp01(v + noise * (2 * rand() - 1)) * 255);
  };
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const px = x + 0.5 - cx;
      const py = y + 0.5 - cy;
      const alpha = clamp01(0.5 - sd(ct * px + st * py, -st * px + ct * py)); // one-pixel anti-aliased edge
      const t = bg.t(x + 0.5, y + 0.5);
      const b0 = a0 + d0 * t;
      const b1 = a1 + d1 * t;
      const b2 = a2 + d2 * t;
      const o = (y * side + x) * 3;
      put(o, b0 + (fg[0] - b0) * alpha);
      put(o + 1, b1 + (fg[1] - b1) * alpha);
      put(o + 2, b2 + (fg[2] - b2) * alpha);
    }
  }
  return out;
}

export interface SyntheticSplit {
  /** count x side x side x 3, HWC uint8. */
  images: Uint8Array;
  /** i mod 10. */
  labels: Int32Array;
}

/** Images 0..count-1 of split `split` (any name: 'unlabeled', 'train', 'test'). */
export function syntheticSplit(seed: number, split: string, count: number, side: number): SyntheticSplit {
  if (!Number.isInteger(side) || side < 16) throw inputError('synthetic image side', `must be an integer >= 16, got ${side}`);
  const per = side * side * 3;
  const images = new Uint8Array(count * per);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 10;
    images.set(drawSynthetic(labels[i], side, mulberry32(hashSeed(seed, `${split}/${i}`))), i * per);
  }
  return { images, labels };
}

export interface SyntheticCounts {
  unlabeled: number;
  train: number;
  test: number;
}

export interface SyntheticManifest {
  format: typeof SYNTHETIC_FORMAT;
  version: 1;
  seed: number;
  side: number;
  counts: SyntheticCounts;
  classes: readonly string[];
}

/** The manifest of a synthetic set in `dir`, or null when there is none (or it is not ours). */
export function readManifest(dir: string): SyntheticManifest | null {
  const file = path.join(dir, 'synthetic.json');
  if (!fs.existsSync(file)) return null;
  let m: unknown;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw inputError(file, `is not valid JSON (${(e as Error).message})`, 'delete the folder and let the task write it again');
  }
  const ok =
    m !== null &&
    typeof m === 'object' &&
    (m as SyntheticManifest).format === SYNTHETIC_FORMAT &&
    Number.isInteger((m as SyntheticManifest).side);
  return ok ? (m as SyntheticManifest) : null;
}

/**
 * Writes the synthetic data set to `dir` in the STL-10 binary layout at side `side`
 * (unlabeled_X.bin, train_X.bin, train_y.bin, test_X.bin, test_y.bin with labels 1..10) and
 * synthetic.json; an identical existing one is reused. Returns the manifest.
 */
export function writeSynthetic(dir: string, seed: number, side: number, counts: SyntheticCounts): SyntheticManifest {
  const manifest: SyntheticManifest = {
    format: SYNTHETIC_FORMAT,
    version: 1,
    seed,
    side,
    counts: { ...counts },
    classes: SYNTHETIC_CLASSES,
  };
  const mfile = path.join(dir, 'synthetic.json');
  if (fs.existsSync(mfile)) {
    try {
      if (JSON.stringify(JSON.parse(fs.readFileSync(mfile, 'utf8'))) === JSON.stringify(manifest)) return manifest;
    } catch {
      // unreadable: regenerate
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(mfile, { force: true });
  for (const split of ['unlabeled', 'train', 'test'] as const) {
    const s = syntheticSplit(seed, split, counts[split], side);
    fs.writeFileSync(path.join(dir, `${split}_X.bin`), toStl10Layout(s.images, side));
    if (split !== 'unlabeled')
      fs.writeFileSync(
        path.join(dir, `${split}_y.bin`),
        Uint8Array.from(s.labels, (l) => l + 1),
      );
  }
  fs.writeFileSync(mfile, `${JSON.stringify(manifest)}\n`);
  return manifest;
}
