import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, isDplError, mulberry32 } from '@dpl/core';
import { openRoadSplit } from '../src/data/layout';
import { evalSample, readRoadPair, TileReader, toTensors, trainCrop, type RoadTile } from '../src/data/loader';
import { tmp } from './helpers';

/** Seeded bytes: RGB noise and a 0/255 mask with some intermediate values. */
function pattern(w: number, h: number, seed: number): { rgb: Uint8Array; mask: Uint8Array } {
  const r = mulberry32(seed);
  const rgb = new Uint8Array(w * h * 3).map(() => Math.floor(r() * 256));
  const mask = new Uint8Array(w * h).map(() => (r() < 0.3 ? 255 : 0));
  return { rgb, mask };
}

/** Uncompressed-quality TIFF (LZW is lossless; sharp's default JPEG compression is not). */
const writeTiff = (file: string, w: number, h: number, channels: 1 | 3, data: Uint8Array) =>
  sharp(Buffer.from(data), { raw: { width: w, height: h, channels } })
    .tiff({ compression: 'lzw' })
    .toFile(file);

const writePngBytes = (file: string, w: number, h: number, channels: 1 | 3, data: Uint8Array) =>
  sharp(Buffer.from(data), { raw: { width: w, height: h, channels } })
    .png()
    .toFile(file);

async function expectDplError(p: Promise<unknown> | (() => unknown), ...parts: string[]): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isDplError(err)).toBe(true);
  for (const s of parts) expect((err as Error).message).toContain(s);
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('Massachusetts Roads layout and TIFF pairs', () => {
  it('reads a TIFF image/mask pair in the Kaggle layout (<split> + <split>_labels) byte for byte', async () => {
    const root = tmp('dpl-seg-tiff-');
    fs.mkdirSync(path.join(root, 'train'));
    fs.mkdirSync(path.join(root, 'train_labels'));
    const { rgb, mask } = pattern(40, 36, 1);
    await writeTiff(path.join(root, 'train', '10078660_15.tiff'), 40, 36, 3, rgb);
    await writeTiff(path.join(root, 'train_labels', '10078660_15.tif'), 40, 36, 1, mask);
    const split = openRoadSplit(root, 'train');
    expect(split.layout).toBe('train + train_labels');
    expect(split.pairs).toEqual([
      {
        name: '10078660_15',
        image: path.join(root, 'train', '10078660_15.tiff'),
        mask: path.join(root, 'train_labels', '10078660_15.tif'),
      },
    ]);
    const tile = await readRoadPair(split.pairs[0]);
    expect([tile.width, tile.height]).toEqual([40, 36]);
    expect(Buffer.from(tile.rgb).equals(Buffer.from(rgb))).toBe(true);
    expect(Buffer.from(tile.mask).equals(Buffer.from(mask))).toBe(true);
  });

  it('accepts the {images,masks}, {sat,map} and {input,output} layouts and the val / validation folder names', async () => {
    const root = tmp('dpl-seg-layouts-');
    const cases: [string, string, string, 'train' | 'valid' | 'test'][] = [
      ['train', 'images', 'masks', 'train'],
      ['val', 'sat', 'map', 'valid'],
      ['test', 'input', 'output', 'test'],
    ];
    for (const [dir, img, msk] of cases) {
      fs.mkdirSync(path.join(root, dir, img), { recursive: true });
      fs.mkdirSync(path.join(root, dir, msk), { recursive: true });
      const { rgb, mask } = pattern(16, 16, 2);
      await writePngBytes(path.join(root, dir, img, 'b.png'), 16, 16, 3, rgb);
      await writePngBytes(path.join(root, dir, msk, 'b.png'), 16, 16, 1, mask);
      await writeTiff(path.join(root, dir, img, 'a.tiff'), 16, 16, 3, rgb);
      await writeTiff(path.join(root, dir, msk, 'a.tif'), 16, 16, 1, mask);
    }
    for (const [dir, img, msk, split] of cases) {
      const s = openRoadSplit(root, split);
      expect(s.layout).toBe(`${dir}/{${img},${msk}}`);
      expect(s.pairs.map((p) => p.name)).toEqual(['a', 'b']);
    }
    fs.renameSync(path.join(root, 'val'), path.join(root, 'validation'));
    expect(openRoadSplit(root, 'valid').layout).toBe('validation/{sat,map}');
  });

  it('a mask of another size than its image is an error naming both files', async () => {
    const root = tmp('dpl-seg-size-');
    fs.mkdirSync(path.join(root, 'test', 'images'), { recursive: true });
    fs.mkdirSync(path.join(root, 'test', 'masks'), { recursive: true });
    const a = pattern(24, 24, 3);
    const b = pattern(20, 24, 4);
    await writeTiff(path.join(root, 'test', 'images', 'x.tiff'), 24, 24, 3, a.rgb);
    await writeTiff(path.join(root, 'test', 'masks', 'x.tif'), 20, 24, 1, b.mask);
    const [pair] = openRoadSplit(root, 'test').pairs;
    await expectDplError(
      readRoadPair(pair),
      path.join(root, 'test', 'masks', 'x.tif'),
      'is 20x24',
      path.join(root, 'test', 'images', 'x.tiff'),
      'is 24x24',
    );
  });

  it('an image without a mask, a mask without an image, an empty split and a missing split are errors naming the file or folder', async () => {
    const root = tmp('dpl-seg-missing-');
    fs.mkdirSync(path.join(root, 'train', 'images'), { recursive: true });
    fs.mkdirSync(path.join(root, 'train', 'masks'), { recursive: true });
    await expectDplError(() => openRoadSplit(root, 'train'), 'train split', path.join(root, 'train', 'images'), 'is empty');
    const { rgb, mask } = pattern(16, 16, 5);
    await writePngBytes(path.join(root, 'train', 'images', 'lonely.png'), 16, 16, 3, rgb);
    await expectDplError(() => openRoadSplit(root, 'train'), `image ${path.join(root, 'train', 'images', 'lonely.png')}`, 'has no mask');
    await writePngBytes(path.join(root, 'train', 'masks', 'lonely.png'), 16, 16, 1, mask);
    await writePngBytes(path.join(root, 'train', 'masks', 'orphan.png'), 16, 16, 1, mask);
    await expectDplError(() => openRoadSplit(root, 'train'), `mask ${path.join(root, 'train', 'masks', 'orphan.png')}`, 'has no image');
    await expectDplError(() => openRoadSplit(root, 'test'), `data root ${root}`, 'has no test split', 'test_labels');
    await expectDplError(() => openRoadSplit(path.join(root, 'nope'), 'test'), 'is not a folder');
  });

  it('an unreadable image is an error naming the file', async () => {
    const root = tmp('dpl-seg-bad-');
    fs.mkdirSync(path.join(root, 'test', 'images'), { recursive: true });
    fs.mkdirSync(path.join(root, 'test', 'masks'), { recursive: true });
    fs.writeFileSync(path.join(root, 'test', 'images', 'x.tiff'), 'not a tiff');
    await writeTiff(path.join(root, 'test', 'masks', 'x.tif'), 8, 8, 1, new Uint8Array(64));
    await expectDplError(
      readRoadPair(openRoadSplit(root, 'test').pairs[0]),
      path.join(root, 'test', 'images', 'x.tiff'),
      'not a readable image',
    );
  });
});

describe('samples', () => {
  const tile: RoadTile = (() => {
    const { rgb, mask } = pattern(30, 20, 9);
    mask[0] = 127; // value / 255 < 0.5: background
    mask[1] = 128; // > 0.5: road
    return { name: 't', width: 30, height: 20, rgb, mask };
  })();

  it('training crops: seeded offsets, content copied from the tile, horizontal flip, mask binarised at 0.5', () => {
    const a = trainCrop(tile, 16, 0, mulberry32(1));
    const again = trainCrop(tile, 16, 0, mulberry32(1));
    expect(Buffer.from(a.rgb.buffer).equals(Buffer.from(again.rgb.buffer))).toBe(true);
    // recover the offset the generator drew, as the loader does: floor(u * (H - S + 1)), floor(u * (W - S + 1))
    const r = mulberry32(1);
    const top = Math.floor(r() * 5);
    const left = Math.floor(r() * 15);
    for (const [y, x] of [
      [0, 0],
      [3, 7],
      [15, 15],
    ]) {
      const s = (top + y) * 30 + left + x;
      expect(a.rgb[3 * (y * 16 + x) + 1]).toBeCloseTo(tile.rgb[3 * s + 1] / 255, 6);
      expect(a.mask[y * 16 + x]).toBe(tile.mask[s] > 127.5 ? 1 : 0);
    }
    const flipped = trainCrop(tile, 16, 1, mulberry32(1));
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) expect(flipped.mask[y * 16 + x]).toBe(a.mask[y * 16 + 15 - x]);
    const full = trainCrop({ ...tile, width: 30, height: 20 }, 20, 0, () => 0);
    expect(full.mask[0]).toBe(0);
    expect(full.mask[1]).toBe(1);
    // p = 0.5 flips about half of the crops: each crop equals either the unflipped or the flipped one
    let flips = 0;
    for (let i = 0; i < 200; i++) {
      const m = (p: number) => Array.from(trainCrop(tile, 16, p, mulberry32(1000 + i)).mask).join('');
      const half = m(0.5);
      if (half === m(1) && half !== m(0)) flips++;
      else expect(half).toBe(m(0));
    }
    expect(flips).toBeGreaterThan(70);
    expect(flips).toBeLessThan(130);
    expect(() => trainCrop(tile, 32, 0.5, mulberry32(1), '/data/x.tiff')).toThrow(/\/data\/x\.tiff.*30x20, smaller than the 32x32 crop/);
  });

  it('evaluation samples: resized to size x size, mask resized then binarised', () => {
    const flat: RoadTile = { name: 'f', width: 40, height: 40, rgb: new Uint8Array(40 * 40 * 3).fill(51), mask: new Uint8Array(40 * 40) };
    for (let y = 0; y < 40; y++) for (let x = 20; x < 40; x++) flat.mask[y * 40 + x] = 255;
    const s = evalSample(flat, 16);
    expect(s.size).toBe(16);
    expect(s.rgb.length).toBe(16 * 16 * 3);
    for (const v of s.rgb) expect(v).toBeCloseTo(0.2, 6);
    expect(new Set(s.mask)).toEqual(new Set([0, 1]));
    // left half background, right half road (the blurred boundary column splits at 0.5)
    expect(s.mask[5 * 16 + 2]).toBe(0);
    expect(s.mask[5 * 16 + 13]).toBe(1);
    const road = s.mask.reduce((a, b) => a + b, 0);
    expect(road).toBe(16 * 8);
  });

  it('batches as NHWC tensors and caches decoded tiles up to the budget', async () => {
    const a = evalSample(tile, 16);
    const { x, y } = toTensors([a, a]);
    expect(x.shape).toEqual([2, 16, 16, 3]);
    expect(y.shape).toEqual([2, 16, 16, 1]);
    expect(Array.from((await y.data()).slice(0, 256))).toEqual(Array.from(a.mask));
    tf.dispose([x, y]);

    const root = tmp('dpl-seg-cache-');
    fs.mkdirSync(path.join(root, 'train', 'images'), { recursive: true });
    fs.mkdirSync(path.join(root, 'train', 'masks'), { recursive: true });
    for (const n of ['a', 'b', 'c']) {
      const p = pattern(10, 10, n.charCodeAt(0));
      await writePngBytes(path.join(root, 'train', 'images', `${n}.png`), 10, 10, 3, p.rgb);
      await writePngBytes(path.join(root, 'train', 'masks', `${n}.png`), 10, 10, 1, p.mask);
    }
    const pairs = openRoadSplit(root, 'train').pairs;
    const reader = new TileReader(pairs, 2 * 400); // one tile is 300 + 100 bytes
    for (const i of [0, 1, 2, 0, 2]) expect((await reader.get(i)).name).toBe(pairs[i].name);
    expect(reader.cachedTiles).toBe(2);
  });
});
