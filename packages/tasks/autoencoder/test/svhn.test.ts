import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, readNpy } from '@dpl/core';
import { findVariable, readMatFile, readNumeric } from '../src/data/mat';
import { openSvhn, openSvhnFile, reflectIndex } from '../src/data/svhn';
import { autoencoderTask } from '../src/task';
import { writeMat } from './mat-writer';
import { context, lossNetwork, python, pythonHas, tmp, cleanupTmp } from './helpers';

const hasScipy = pythonHas('scipy.io');
if (!hasScipy)
  console.warn(
    "SVHN loader tests: the reference Python cannot import scipy; the .mat files are written by the tests' own MAT writer instead of scipy.io.savemat",
  );

let dir: string;
/** Expected images (N x 64 x 64 x 3 in [0, 1]) and labels per split. */
const expected: Record<string, { images: Float32Array; labels: number[]; n: number }> = {};

/** Column-major X (32 x 32 x 3 x n) of seeded bytes and the same images reflect-padded, computed naively. */
function handWritten(split: string, n: number, seed: number, compress: boolean): void {
  const X = new Uint8Array(32 * 32 * 3 * n);
  for (let i = 0; i < X.length; i++) X[i] = (i * 131 + seed * 17 + (i >> 7) * 29) % 256;
  const y = Array.from({ length: n }, (_, i) => (i === 0 ? 10 : 1 + ((i * 7 + seed) % 10)));
  writeMat(
    path.join(dir, `${split}_32x32.mat`),
    [
      { name: 'X', className: 'uint8', dims: [32, 32, 3, n], data: X },
      { name: 'y', className: 'double', dims: [n, 1], data: y },
    ],
    { compress },
  );
  // reflect padding by mirrored coordinates: -k -> k, 31 + k -> 31 - k
  const mirror = (i: number) => {
    const j = i - 16;
    return j < 0 ? -j : j > 31 ? 62 - j : j;
  };
  const images = new Float32Array(n * 64 * 64 * 3);
  for (let k = 0; k < n; k++)
    for (let r = 0; r < 64; r++)
      for (let c = 0; c < 64; c++)
        for (let ch = 0; ch < 3; ch++) {
          images[((k * 64 + r) * 64 + c) * 3 + ch] = X[mirror(r) + 32 * mirror(c) + 1024 * ch + 3072 * k] / 255;
        }
  expected[split] = { images, labels: y.map((v) => v % 10), n };
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = tmp('dpl-ae-svhn-');
  if (hasScipy) {
    python(fs.readFileSync(path.join(__dirname, 'ref', 'write_svhn.py'), 'utf8'), [dir]);
    for (const split of ['train', 'test', 'extra']) {
      const images = readNpy(fs.readFileSync(path.join(dir, `expected_${split}.npy`)), split).data;
      const labels = [...readNpy(fs.readFileSync(path.join(dir, `labels_${split}.npy`)), split).data];
      expected[split] = { images, labels, n: labels.length };
    }
  } else {
    handWritten('train', 7, 1, false);
    handWritten('test', 5, 2, true);
    handWritten('extra', 9, 3, true);
  }
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('MAT v5 reader', () => {
  it('lists variables with class, dims and compression without reading the data', () => {
    const plain = readMatFile(path.join(dir, 'train_32x32.mat'));
    const packed = readMatFile(path.join(dir, 'test_32x32.mat'));
    expect(plain.littleEndian).toBe(true);
    expect(plain.variables.map((v) => [v.name, v.className, v.dims, v.compressed])).toEqual([
      ['X', 'uint8', [32, 32, 3, 7], false],
      ['y', 'double', [7, 1], false],
    ]);
    expect(packed.variables.map((v) => [v.name, v.className, v.dims, v.compressed])).toEqual([
      ['X', 'uint8', [32, 32, 3, 5], true],
      ['y', 'double', [5, 1], true],
    ]);
    expect(findVariable(plain, 'X').dataBytes).toBe(32 * 32 * 3 * 7);
  });

  it('reads big-endian files and small-format names (hand-written)', async () => {
    const file = path.join(dir, 'be.mat');
    writeMat(
      file,
      [
        { name: 'vals', className: 'double', dims: [1, 3], data: [1.5, -2, 1e10] },
        { name: 'longername', className: 'uint8', dims: [2, 2], data: [1, 2, 3, 250] },
      ],
      { bigEndian: true },
    );
    const mat = readMatFile(file);
    expect(mat.littleEndian).toBe(false);
    expect(mat.variables.map((v) => v.name)).toEqual(['vals', 'longername']);
    expect([...(await readNumeric(mat, findVariable(mat, 'vals')))]).toEqual([1.5, -2, 1e10]);
    expect([...(await readNumeric(mat, findVariable(mat, 'longername')))]).toEqual([1, 2, 3, 250]);
  });

  it('names the file and the variables found when a variable is missing', () => {
    const file = hasScipy ? path.join(dir, 'no_x.mat') : path.join(dir, 'no_x_hand.mat');
    if (!hasScipy)
      writeMat(file, [
        { name: 'images', className: 'uint8', dims: [32, 32, 3, 2], data: new Uint8Array(6144) },
        { name: 'labels', className: 'double', dims: [2, 1], data: [1, 1] },
      ]);
    expect(() => findVariable(readMatFile(file), 'X')).toThrow(file);
    expect(() => findVariable(readMatFile(file), 'X')).toThrow(
      /no variable 'X'; it holds images \(uint8 32x32x3x2\), labels \(double 2x1\)/,
    );
  });

  it('refuses MAT v4, v7.3 (HDF5), truncated and non-MAT files, naming the file', () => {
    const v73 = path.join(dir, 'v73.mat');
    const head = Buffer.alloc(600, 0);
    head.write('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: x HDF5 schema 1.00 .', 0, 'latin1');
    head.write('\x89HDF', 512, 'latin1');
    fs.writeFileSync(v73, head);
    expect(() => readMatFile(v73)).toThrow(/v7\.3 \(HDF5\)/);
    const junk = path.join(dir, 'junk.mat');
    fs.writeFileSync(junk, Buffer.alloc(300, 7));
    expect(() => readMatFile(junk)).toThrow(new RegExp(`${junk}.*not a level-5 MAT-file`));
    const cut = path.join(dir, 'cut.mat');
    fs.writeFileSync(cut, fs.readFileSync(path.join(dir, 'train_32x32.mat')).subarray(0, 5000));
    expect(() => readMatFile(cut)).toThrow(new RegExp(`${cut}: is truncated`));
    if (hasScipy) expect(() => readMatFile(path.join(dir, 'v4.mat'))).toThrow(/not a level-5 MAT-file/);
    expect(() => readMatFile(path.join(dir, 'missing.mat'))).toThrow(/missing\.mat: cannot be opened/);
  });
});

describe('SVHN loader', () => {
  it.each(['train', 'test', 'extra'])('%s: images reflect-padded to 64 x 64 as numpy pads them, labels 10 -> 0', async (split) => {
    const set = await openSvhn(dir, split as 'train');
    const e = expected[split];
    try {
      expect(set.count).toBe(e.n);
      expect(set.side).toBe(64);
      expect([...set.labels!]).toEqual(e.labels);
      expect(e.labels[0]).toBe(0);
      // every image, read in a shuffled order
      const order = Array.from({ length: e.n }, (_, i) => (i * 3 + 1) % e.n);
      const got = set.read(order);
      const per = 64 * 64 * 3;
      const want = new Float32Array(got.length);
      order.forEach((k, b) => want.set(e.images.subarray(k * per, (k + 1) * per), b * per));
      expect(close(got, want)).toBe(0);
    } finally {
      set.close();
    }
  });

  it('inflates a compressed X once into the cache folder and reuses it', async () => {
    const cacheDir = path.join(dir, 'cache');
    const a = await openSvhn(dir, 'extra', { cacheDir });
    const files = fs.readdirSync(cacheDir);
    expect(files).toHaveLength(1);
    expect(fs.statSync(path.join(cacheDir, files[0])).size).toBe(32 * 32 * 3 * expected.extra.n);
    const mtime = fs.statSync(path.join(cacheDir, files[0])).mtimeMs;
    const b = await openSvhn(dir, 'extra', { cacheDir });
    expect(fs.statSync(path.join(cacheDir, files[0])).mtimeMs).toBe(mtime);
    expect(close(a.read([0, 8]), b.read([0, 8]))).toBe(0);
    expect(close(a.read([3]), expected.extra.images.subarray(3 * 64 * 64 * 3, 4 * 64 * 64 * 3))).toBe(0);
    a.close();
    b.close();
  });

  it('pads by other amounts (reflect without repeating the edge)', async () => {
    expect([0, 1, 2, 3, 4, 5].map((i) => reflectIndex(i, 4, 2))).toEqual([2, 1, 0, 1, 2, 3]);
    expect([6, 7].map((i) => reflectIndex(i, 4, 2))).toEqual([2, 1]);
    const set = await openSvhn(dir, 'train', { pad: 0 });
    expect(set.side).toBe(32);
    // unpadded pixel (r, c) is padded pixel (r + 16, c + 16)
    const raw = set.read([2]);
    const e = expected.train.images.subarray(2 * 64 * 64 * 3);
    expect(raw[(5 * 32 + 7) * 3 + 1]).toBe(e[(21 * 64 + 23) * 3 + 1]);
    set.close();
  });

  it('gives clear errors for a wrong variable name, dtype, labels or file', async () => {
    const noX = path.join(dir, hasScipy ? 'no_x.mat' : 'no_x_hand2.mat');
    const dbl = path.join(dir, hasScipy ? 'double_x.mat' : 'double_x_hand.mat');
    const ybad = path.join(dir, hasScipy ? 'y_bad.mat' : 'y_bad_hand.mat');
    if (!hasScipy) {
      writeMat(noX, [
        { name: 'images', className: 'uint8', dims: [32, 32, 3, 2], data: new Uint8Array(6144) },
        { name: 'labels', className: 'double', dims: [2, 1], data: [1, 1] },
      ]);
      writeMat(
        dbl,
        [
          { name: 'X', className: 'double', dims: [32, 32, 3, 2], data: new Float64Array(6144) },
          { name: 'y', className: 'double', dims: [2, 1], data: [1, 1] },
        ],
        { compress: true },
      );
      writeMat(ybad, [
        { name: 'X', className: 'uint8', dims: [32, 32, 3, 2], data: new Uint8Array(6144) },
        { name: 'y', className: 'double', dims: [2, 1], data: [1, 11] },
      ]);
    }
    await expect(openSvhnFile(noX)).rejects.toThrow(new RegExp(`${noX}: has no variable 'X'; it holds images .*labels`));
    await expect(openSvhnFile(dbl)).rejects.toThrow(new RegExp(`${dbl}: variable 'X' is double .*SVHN images are uint8`));
    await expect(openSvhnFile(ybad)).rejects.toThrow(new RegExp(`${ybad}: label y\\(2\\) is 11`));
    await expect(openSvhn(path.join(dir, 'nowhere'), 'test')).rejects.toThrow(/test_32x32\.mat: does not exist/);
    const short = path.join(dir, 'short.mat');
    writeMat(short, [
      { name: 'X', className: 'uint8', dims: [32, 32, 3, 3], data: new Uint8Array(9216) },
      { name: 'y', className: 'double', dims: [2, 1], data: [1, 2] },
    ]);
    await expect(openSvhnFile(short)).rejects.toThrow(new RegExp(`${short}: has 3 images in X but 2 labels in y`));
  });
});

describe('autoencoder task on an SVHN data root', () => {
  it('trains on extra, probes on train / test, at 64 x 64', async () => {
    const net = lossNetwork('squeezenet1_1');
    try {
      const ctx = context(net, {
        points: ['relu1'],
        dataRoot: dir,
        overrides: {
          encoderChannels: [4, 4, 4, 4],
          decoderChannels: [8, 4, 4, 4],
          batchSize: 4,
          epochs: 1,
          probeHidden: [[], [8]],
          probeEpochs: 2,
          samples: 2,
          maxAutoencoderImages: null,
          maxProbeTrainImages: null,
          maxProbeTestImages: null,
        },
      });
      const r = await autoencoderTask.run(ctx);
      const d = r.detail as Record<string, any>;
      expect(d.data).toMatchObject({ kind: 'svhn', side: 64, probeTrainImages: { used: 7 }, probeTestImages: { used: 5 } });
      expect(d.data.autoencoderImages).toMatchObject({ used: 9, train: 7, val: 2 });
      expect(Object.keys(r.metrics)).toEqual([
        'best_accuracy',
        'mean_accuracy',
        'accuracy_mlp[]',
        'accuracy_mlp[8]',
        'autoencoder_val_loss',
      ]);
      // the compressed extra split went through the scratch cache
      expect(fs.readdirSync(path.join(ctx.scratchDir, 'svhn-cache')).some((f) => f.startsWith('extra_32x32.mat.X.'))).toBe(true);
      fs.rmSync(ctx.scratchDir, { recursive: true, force: true });
    } finally {
      net.dispose();
    }
  });
});

afterAll(() => cleanupTmp());
