/**
 * A deterministic synthetic stand-in for Massachusetts Roads: textured terrain (green/brown fields
 * with smooth and fine noise, soft shadows), grey-red rooftops as distractors, and 1-3 roads
 * crossing each tile as jittered polylines of varying width with their binary masks. Every tile
 * has road. It backs the tests and the offline demo; its numbers say nothing about real
 * delineation quality.
 *
 * Tiles come from mulberry32(hashSeed(seed, '<split>/<index>')), so one tile does not depend on
 * how many others are generated. Written in the `<split>/{images,masks}/<name>.png` layout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashSeed, mulberry32, writePng } from '@dpl/core';
import type { RoadSplitName } from './layout';
import type { RoadTile } from './loader';

// local aliases: global lookups in per-pixel loops are slow inside jest's sandbox
const { floor, min, max, round } = Math;

/** Smooth noise in [0, 1]: random values on a grid of `cell`-pixel cells, bilinearly interpolated. */
function valueNoise(size: number, cell: number, rand: () => number): Float32Array {
  const g = floor(size / cell) + 2;
  const grid = new Float32Array(g * g);
  for (let i = 0; i < grid.length; i++) grid[i] = rand();
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const gy = y / cell;
    const y0 = floor(gy);
    const fy = gy - y0;
    for (let x = 0; x < size; x++) {
      const gx = x / cell;
      const x0 = floor(gx);
      const fx = gx - x0;
      const a = grid[y0 * g + x0] * (1 - fx) + grid[y0 * g + x0 + 1] * fx;
      const b = grid[(y0 + 1) * g + x0] * (1 - fx) + grid[(y0 + 1) * g + x0 + 1] * fx;
      out[y * size + x] = a * (1 - fy) + b * fy;
    }
  }
  return out;
}

type Pt = [number, number];

/** A point on side 0..3 (top, right, bottom, left) of the tile, away from the corners. */
function borderPoint(side: number, size: number, rand: () => number): Pt {
  const t = (0.1 + 0.8 * rand()) * (size - 1);
  return side === 0 ? [t, 0] : side === 1 ? [size - 1, t] : side === 2 ? [t, size - 1] : [0, t];
}

/** A road from one side of the tile to another, through 3 jittered intermediate points. */
function roadPolyline(size: number, rand: () => number): Pt[] {
  const s0 = floor(rand() * 4);
  const s1 = (s0 + 1 + floor(rand() * 3)) % 4;
  const a = borderPoint(s0, size, rand);
  const b = borderPoint(s1, size, rand);
  const pts: Pt[] = [a];
  const jitter = size / 8;
  for (let k = 1; k <= 3; k++) {
    const t = k / 4;
    pts.push([a[0] + (b[0] - a[0]) * t + (rand() * 2 - 1) * jitter, a[1] + (b[1] - a[1]) * t + (rand() * 2 - 1) * jitter]);
  }
  pts.push(b);
  return pts;
}

/** Sets mask bytes to 255 within halfWidth of the segment p-q (only the segment's bounding box is visited). */
function stampSegment(mask: Uint8Array, size: number, p: Pt, q: Pt, halfWidth: number): void {
  const x0 = max(0, floor(min(p[0], q[0]) - halfWidth));
  const x1 = min(size - 1, Math.ceil(max(p[0], q[0]) + halfWidth));
  const y0 = max(0, floor(min(p[1], q[1]) - halfWidth));
  const y1 = min(size - 1, Math.ceil(max(p[1], q[1]) + halfWidth));
  const dx = q[0] - p[0];
  const dy = q[1] - p[1];
  const len2 = dx * dx + dy * dy || 1;
  const r2 = halfWidth * halfWidth;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const t = max(0, min(1, ((x - p[0]) * dx + (y - p[1]) * dy) / len2));
      const ex = x - p[0] - t * dx;
      const ey = y - p[1] - t * dy;
      if (ex * ex + ey * ey <= r2) mask[y * size + x] = 255;
    }
  }
}

/** One synthetic tile (size x size) from `seed`. */
export function syntheticRoadTile(size: number, seed: number, name = `tile-${seed}`): RoadTile {
  const rand = mulberry32(seed);
  const n = size * size;
  const landUse = valueNoise(size, max(4, size / 3), rand);
  const texture = valueNoise(size, 4, rand);
  const shadow = valueNoise(size, max(4, size / 2), rand);
  const green: [number, number, number] = [0.28 + 0.08 * rand(), 0.4 + 0.08 * rand(), 0.22 + 0.06 * rand()];
  const brown: [number, number, number] = [0.46 + 0.08 * rand(), 0.38 + 0.06 * rand(), 0.28 + 0.06 * rand()];
  const rgb = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const t = landUse[i];
    const shade = 0.85 + 0.3 * texture[i];
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = (green[c] * (1 - t) + brown[c] * t) * shade;
  }
  // rooftops: compact grey-red rectangles, road-like in brightness but not in shape
  const buildings = floor(rand() * 5);
  for (let b = 0; b < buildings; b++) {
    const w = max(2, round(size * (0.04 + 0.08 * rand())));
    const h = max(2, round(size * (0.04 + 0.08 * rand())));
    const bx = floor(rand() * (size - w));
    const by = floor(rand() * (size - h));
    const v = 0.5 + 0.25 * rand();
    const col = [v + 0.08, v - 0.04, v - 0.08];
    for (let y = by; y < by + h; y++) for (let x = bx; x < bx + w; x++) for (let c = 0; c < 3; c++) rgb[3 * (y * size + x) + c] = col[c];
  }
  const mask = new Uint8Array(n);
  const roads = 1 + floor(rand() * 3);
  for (let r = 0; r < roads; r++) {
    const pts = roadPolyline(size, rand);
    const halfWidth = 0.5 * (1.5 + rand() * max(1, size / 24));
    const roadMask = new Uint8Array(n);
    for (let k = 0; k + 1 < pts.length; k++) stampSegment(roadMask, size, pts[k], pts[k + 1], halfWidth);
    const v = 0.48 + 0.16 * rand();
    for (let i = 0; i < n; i++) {
      if (!roadMask[i]) continue;
      mask[i] = 255;
      const grain = 0.94 + 0.12 * texture[i];
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = v * grain;
    }
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const dim = 0.8 + 0.2 * shadow[i];
    for (let c = 0; c < 3; c++) {
      const noise = (rand() * 2 - 1) * 0.03;
      out[3 * i + c] = round(255 * max(0, min(1, rgb[3 * i + c] * dim + noise)));
    }
  }
  return { name, width: size, height: size, rgb: out, mask };
}

export interface SyntheticRoadsOptions {
  seed: number;
  /** Tile side in pixels. */
  size: number;
  counts: Record<RoadSplitName, number>;
}

export interface SyntheticRoadsManifest extends SyntheticRoadsOptions {
  format: 'dpl-synthetic-roads';
  version: 1;
}

const MANIFEST = 'synthetic-roads.json';

const sameOptions = (m: SyntheticRoadsManifest, o: SyntheticRoadsOptions) =>
  m.format === 'dpl-synthetic-roads' &&
  m.version === 1 &&
  m.seed === o.seed &&
  m.size === o.size &&
  (['train', 'valid', 'test'] as const).every((s) => m.counts?.[s] === o.counts[s]);

/**
 * Writes the synthetic dataset under `root` (`<split>/images/<name>.png`, `<split>/masks/<name>.png`)
 * unless a complete one with the same options is already there. Returns its manifest.
 */
export async function generateSyntheticRoads(root: string, o: SyntheticRoadsOptions): Promise<SyntheticRoadsManifest> {
  const manifest: SyntheticRoadsManifest = {
    format: 'dpl-synthetic-roads',
    version: 1,
    seed: o.seed,
    size: o.size,
    counts: { ...o.counts },
  };
  const file = path.join(root, MANIFEST);
  if (fs.existsSync(file)) {
    try {
      if (sameOptions(JSON.parse(fs.readFileSync(file, 'utf8')) as SyntheticRoadsManifest, o)) return manifest;
    } catch {
      // unreadable manifest: regenerate below
    }
  }
  for (const split of ['train', 'valid', 'test'] as const) {
    const imgDir = path.join(root, split, 'images');
    const mskDir = path.join(root, split, 'masks');
    fs.rmSync(path.join(root, split), { recursive: true, force: true });
    fs.mkdirSync(imgDir, { recursive: true });
    fs.mkdirSync(mskDir, { recursive: true });
    for (let i = 0; i < o.counts[split]; i++) {
      const name = `${split}-${String(i).padStart(4, '0')}`;
      const t = syntheticRoadTile(o.size, hashSeed(o.seed, `${split}/${i}`), name);
      const img = new Float32Array(t.rgb.length);
      for (let k = 0; k < img.length; k++) img[k] = t.rgb[k] / 255;
      const msk = new Float32Array(t.mask.length * 3);
      for (let k = 0; k < t.mask.length; k++) msk[3 * k] = msk[3 * k + 1] = msk[3 * k + 2] = t.mask[k] / 255;
      await writePng(path.join(imgDir, `${name}.png`), { width: o.size, height: o.size, data: img });
      await writePng(path.join(mskDir, `${name}.png`), { width: o.size, height: o.size, data: msk });
    }
  }
  // the manifest last: its presence says the set is complete
  fs.writeFileSync(file, `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}
