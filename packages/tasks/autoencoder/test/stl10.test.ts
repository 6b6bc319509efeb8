import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, readNpy } from '@dpl/core';
import { openStl10, openStl10File, readStl10Labels, toStl10Layout } from '../src/data/stl10';
import { limit, subset } from '../src/data/image-set';
import { autoencoderTask } from '../src/task';
import { context, lossNetwork, python, pythonHas, tmp, cleanupTmp } from './helpers';

const S = 96;
const PER = 3 * S * S;
/** The byte of image n at (row, col, channel): distinct for transposed coordinates. */
const value = (n: number, row: number, col: number, c: number) => (n * 37 + row * 3 + col * 7 + c * 101) % 256;

/** Writes n images the way STL-10 stores them: per image 3 planes, each column after column. */
function writeStl(file: string, n: number): void {
  const buf = Buffer.alloc(n * PER);
  for (let k = 0; k < n; k++)
    for (let c = 0; c < 3; c++)
      for (let col = 0; col < S; col++)
        for (let row = 0; row < S; row++) {
          buf[k * PER + c * S * S + col * S + row] = value(k, row, col, c);
        }
  fs.writeFileSync(file, buf);
}

let root: string;
beforeAll(() => {
  root = tmp('dpl-ae-stl-');
  const dir = path.join(root, 'stl10_binary'); // the archive's folder
  fs.mkdirSync(dir);
  writeStl(path.join(dir, 'train_X.bin'), 4);
  fs.writeFileSync(path.join(dir, 'train_y.bin'), Buffer.from([1, 10, 3, 7]));
  writeStl(path.join(dir, 'test_X.bin'), 3);
  fs.writeFileSync(path.join(dir, 'test_y.bin'), Buffer.from([2, 2, 9]));
  writeStl(path.join(dir, 'unlabeled_X.bin'), 5);
});

describe('STL-10 loader', () => {
  it('reads column-major planes into HWC [0, 1] pixels, labels 1..10 -> 0..9, any index order', () => {
    const set = openStl10(root, 'train');
    try {
      expect(set.count).toBe(4);
      expect(set.side).toBe(96);
      expect([...set.labels!]).toEqual([0, 9, 2, 6]);
      const x = set.read([3, 1]);
      expect(x).toHaveLength(2 * PER);
      for (const [b, n] of [
        [0, 3],
        [1, 1],
      ])
        for (const [row, col, c] of [
          [0, 0, 0],
          [1, 0, 0],
          [0, 1, 0],
          [5, 90, 2],
          [95, 3, 1],
        ]) {
          expect(x[b * PER + (row * S + col) * 3 + c]).toBeCloseTo(value(n, row, col, c) / 255, 7);
        }
    } finally {
      set.close();
    }
    const u = openStl10(root, 'unlabeled');
    expect(u.count).toBe(5);
    expect(u.labels).toBeNull();
    u.close();
  });

  const withNumpy = pythonHas('numpy') ? it : it.skip;
  if (!pythonHas('numpy')) console.warn('STL-10 numpy cross-check skipped: the reference Python cannot import numpy');
  withNumpy('matches the STL-10 reference reading (numpy reshape (-1, 3, 96, 96), transpose (0, 3, 2, 1))', () => {
    const out = path.join(root, 'ref.npy');
    python(
      `import numpy as np, sys
x = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1)
np.save(sys.argv[2], (x.astype(np.float32) / 255).astype(np.float32))`,
      [path.join(root, 'stl10_binary', 'test_X.bin'), out],
    );
    const ref = readNpy(fs.readFileSync(out), out);
    expect(ref.shape).toEqual([3, 96, 96, 3]);
    const set = openStl10(root, 'test');
    const x = set.read([0, 1, 2]);
    set.close();
    let m = 0;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - ref.data[i]));
    expect(m).toBe(0);
  });

  it('gives clear errors naming the file: wrong size, label count, label values, missing files', () => {
    const bad = path.join(root, 'bad_X.bin');
    fs.writeFileSync(bad, Buffer.alloc(2 * PER + 5));
    expect(() => openStl10File(bad, null)).toThrow(
      new RegExp(`${bad}: is ${2 * PER + 5} bytes, not a whole number of 96x96x3 uint8 images`),
    );
    const few = path.join(root, 'few_y.bin');
    fs.writeFileSync(few, Buffer.from([1, 2]));
    expect(() => openStl10File(path.join(root, 'stl10_binary', 'train_X.bin'), few)).toThrow(
      new RegExp(`${few}: holds 2 labels but its image file holds 4 images`),
    );
    const zero = path.join(root, 'zero_y.bin');
    fs.writeFileSync(zero, Buffer.from([1, 0, 3, 4]));
    expect(() => readStl10Labels(zero)).toThrow(new RegExp(`${zero}: label 1 is 0; STL-10 labels are bytes 1..10`));
    expect(() => openStl10(path.join(root, 'nothing'), 'test')).toThrow(/test_X\.bin: does not exist \(STL-10 images\)/);
    const set = openStl10(root, 'test');
    expect(() => set.read([3])).toThrow(/image 3: is outside/);
    set.close();
  });

  it('subsets and seeded limits keep labels aligned', () => {
    const set = openStl10(root, 'train');
    const s = subset(set, [2, 0]);
    expect([...s.labels!]).toEqual([2, 0]);
    expect(s.read([0])).toEqual(set.read([2]));
    const a = limit(set, 2, 5, 'x');
    const b = limit(set, 2, 5, 'x');
    expect(a.count).toBe(2);
    expect([...a.labels!]).toEqual([...b.labels!]);
    expect(limit(set, null, 5, 'x')).toBe(set);
    set.close();
  });

  it('writes and reads other sides in the same layout (the synthetic stand-in)', () => {
    const side = 8;
    const hwc = Uint8Array.from({ length: 2 * side * side * 3 }, (_, i) => (i * 13) % 256);
    const file = path.join(root, 'small_X.bin');
    fs.writeFileSync(file, toStl10Layout(hwc, side));
    const set = openStl10File(file, null, side);
    expect(set.count).toBe(2);
    expect(Array.from(set.read([0, 1]), (v) => Math.round(v * 255))).toEqual([...hwc]);
    set.close();
  });
});

describe('autoencoder task on an STL-10 data root', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  it('trains on unlabeled, probes on train / test, at 96 x 96', async () => {
    const net = lossNetwork('squeezenet1_1');
    try {
      const ctx = context(net, {
        points: ['relu1'],
        dataRoot: root,
        overrides: {
          encoderChannels: [4, 4, 4, 4],
          decoderChannels: [8, 4, 4, 4],
          batchSize: 4,
          epochs: 1,
          probeHidden: [[]],
          probeEpochs: 2,
          samples: 0,
          maxAutoencoderImages: null,
          maxProbeTrainImages: null,
          maxProbeTestImages: null,
        },
      });
      const r = await autoencoderTask.run(ctx);
      const d = r.detail as Record<string, any>;
      expect(d.data).toMatchObject({
        kind: 'stl10',
        side: 96,
        autoencoderImages: { used: 5, train: 4, val: 1 },
        probeTrainImages: { used: 4 },
        probeTestImages: { used: 3 },
      });
      expect(d.model.grid).toBe(3);
      expect(d.files.samples).toBeUndefined();
      expect(r.metrics.best_accuracy).toBe(r.metrics['accuracy_mlp[]']);
      fs.rmSync(ctx.scratchDir, { recursive: true, force: true });
    } finally {
      net.dispose();
    }
  });
});

afterAll(() => cleanupTmp());
