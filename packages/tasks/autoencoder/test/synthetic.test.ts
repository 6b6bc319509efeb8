import * as fs from 'node:fs';
import * as path from 'node:path';
import { openStl10 } from '../src/data/stl10';
import { SYNTHETIC_CLASSES, syntheticSplit, writeSynthetic } from '../src/data/synthetic';
import { tmp, cleanupTmp } from './helpers';

describe('synthetic data set', () => {
  it('is deterministic per seed and split, balanced over 10 classes', () => {
    const a = syntheticSplit(3, 'train', 20, 64);
    const b = syntheticSplit(3, 'train', 20, 64);
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(Buffer.from(syntheticSplit(4, 'train', 20, 64).images).equals(Buffer.from(a.images))).toBe(false);
    expect(Buffer.from(syntheticSplit(3, 'test', 20, 64).images).equals(Buffer.from(a.images))).toBe(false);
    expect([...a.labels]).toEqual(Array.from({ length: 20 }, (_, i) => i % 10));
    expect(SYNTHETIC_CLASSES).toHaveLength(10);
    // a prefix of a bigger split is the smaller split
    expect(Buffer.from(syntheticSplit(3, 'train', 10, 64).images).equals(Buffer.from(a.images.subarray(0, 10 * 64 * 64 * 3)))).toBe(true);
  });

  it('draws varied images: objects lighter than their background, no two images alike', () => {
    const s = syntheticSplit(1, 'test', 30, 64);
    const per = 64 * 64 * 3;
    const lum = (k: number, x: number, y: number) => {
      const o = k * per + (y * 64 + x) * 3;
      return s.images[o] + s.images[o + 1] + s.images[o + 2];
    };
    for (let k = 0; k < 30; k++) {
      const img = s.images.subarray(k * per, (k + 1) * per);
      const distinct = new Set(img).size;
      expect(distinct).toBeGreaterThan(50);
      // the brightest pixels belong to the object, the corners to the background
      let maxL = 0;
      for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) maxL = Math.max(maxL, lum(k, x, y));
      expect(maxL).toBeGreaterThan(lum(k, 0, 0) + 100);
      for (let j = 0; j < k; j++) expect(Buffer.from(img).equals(Buffer.from(s.images.subarray(j * per, (j + 1) * per)))).toBe(false);
    }
  });

  it('writes the STL-10 layout with a manifest, reads back identically, reuses an identical set', () => {
    const dir = path.join(tmp('dpl-ae-syn-'), 'data');
    const counts = { unlabeled: 6, train: 10, test: 4 };
    const m = writeSynthetic(dir, 2, 64, counts);
    expect(m).toMatchObject({ format: 'dpl-synthetic-stl10', seed: 2, side: 64, counts });
    const train = openStl10(dir, 'train', 64);
    const want = syntheticSplit(2, 'train', 10, 64);
    expect([...train.labels!]).toEqual([...want.labels]);
    expect(
      Buffer.from(Uint8Array.from(train.read([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), (v) => Math.round(v * 255))).equals(Buffer.from(want.images)),
    ).toBe(true);
    train.close();
    const mtime = fs.statSync(path.join(dir, 'train_X.bin')).mtimeMs;
    writeSynthetic(dir, 2, 64, counts);
    expect(fs.statSync(path.join(dir, 'train_X.bin')).mtimeMs).toBe(mtime);
    writeSynthetic(dir, 2, 64, { ...counts, test: 5 });
    const test = openStl10(dir, 'test', 64);
    expect(test.count).toBe(5);
    test.close();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });
});

afterAll(() => cleanupTmp());
