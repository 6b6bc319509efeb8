import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashSeed } from '@dpl/core';
import { openRoadSplit } from '../src/data/layout';
import { readRoadPair } from '../src/data/loader';
import { generateSyntheticRoads, syntheticRoadTile } from '../src/data/synthetic';
import { tmp } from './helpers';

describe('synthetic roads', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = syntheticRoadTile(48, 5);
    const b = syntheticRoadTile(48, 5);
    const c = syntheticRoadTile(48, 6);
    expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb))).toBe(true);
    expect(Buffer.from(a.mask).equals(Buffer.from(b.mask))).toBe(true);
    expect(Buffer.from(a.rgb).equals(Buffer.from(c.rgb))).toBe(false);
    expect(Buffer.from(a.mask).equals(Buffer.from(c.mask))).toBe(false);
  });

  it('every tile has a binary road mask covering a minority of it, and roads are grey where terrain is green or brown', () => {
    let roadGreyness = 0;
    let terrainGreyness = 0;
    for (let s = 0; s < 20; s++) {
      const t = syntheticRoadTile(64, 100 + s);
      expect(new Set(t.mask).size).toBeLessThanOrEqual(2);
      const road = t.mask.reduce((n, v) => n + (v === 255 ? 1 : 0), 0) / t.mask.length;
      expect(road).toBeGreaterThan(0.01);
      expect(road).toBeLessThan(0.5);
      // mean |G - R| + |G - B|: small for grey roads, larger for vegetation and soil
      let rg = 0,
        rn = 0,
        tg = 0,
        tn = 0;
      for (let i = 0; i < t.mask.length; i++) {
        const g = Math.abs(t.rgb[3 * i + 1] - t.rgb[3 * i]) + Math.abs(t.rgb[3 * i + 1] - t.rgb[3 * i + 2]);
        if (t.mask[i]) {
          rg += g;
          rn++;
        } else {
          tg += g;
          tn++;
        }
      }
      roadGreyness += rg / rn / 20;
      terrainGreyness += tg / tn / 20;
    }
    expect(roadGreyness).toBeLessThan(terrainGreyness / 2);
  });

  it('writes <split>/{images,masks} PNGs that the loader reads back exactly, and reuses a complete set', async () => {
    const root = tmp('dpl-seg-synth-');
    const o = { seed: 9, size: 32, counts: { train: 3, valid: 1, test: 2 } };
    await generateSyntheticRoads(root, o);
    for (const [split, n] of [
      ['train', 3],
      ['valid', 1],
      ['test', 2],
    ] as const) {
      const s = openRoadSplit(root, split);
      expect(s.layout).toBe(`${split}/{images,masks}`);
      expect(s.pairs).toHaveLength(n);
    }
    const pair = openRoadSplit(root, 'test').pairs[1];
    const tile = await readRoadPair(pair);
    const expected = syntheticRoadTile(32, hashSeed(9, 'test/1'));
    expect(Buffer.from(tile.rgb).equals(Buffer.from(expected.rgb))).toBe(true);
    expect(Buffer.from(tile.mask).equals(Buffer.from(expected.mask))).toBe(true);

    // a second run leaves the tiles alone: an mtime set far in the past survives it (no clock involved)
    const past = new Date('2000-01-01T00:00:00Z');
    fs.utimesSync(pair.image, past, past);
    await generateSyntheticRoads(root, o);
    expect(fs.statSync(pair.image).mtimeMs).toBe(past.getTime());
    await generateSyntheticRoads(root, { ...o, counts: { train: 2, valid: 1, test: 2 } });
    expect(openRoadSplit(root, 'train').pairs).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'synthetic-roads.json'), 'utf8')).counts.train).toBe(2);
  });
});
