/**
 * Hostile paths and inputs: FIFOs, devices, folders, symlink loops, image bombs and malformed
 * .npy inputs. Each is refused with an error naming the input and the fix, without hanging,
 * before decoding, and nothing is written.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, readImage, readInputTensor, setMaxPixels } from '../../src/image/io';
import { readNpy, readNpyFile } from '../../src/weights/npy';
import { readWeights } from '../../src/weights/read-weights';
import { npy, pngBomb } from './craft';
import { refused, scratch } from './helpers';

let dir = '';
beforeAll(() => {
  dir = scratch('files');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

describe('only regular files are read', () => {
  const readers: [string, (p: string) => Promise<unknown>, string][] = [
    ['image', (p) => readImage(p), 'an image'],
    ['input .png', (p) => readInputTensor(p), 'an image'],
    ['input .npy', (p) => readInputTensor(p), 'an .npy file'],
    ['weights', (p) => readWeights(p), 'a weights file'],
  ];
  const ext = (label: string) => (label.includes('.npy') ? '.npy' : label === 'weights' ? '.pth' : '.png');

  it('a FIFO is refused at once, without waiting for a writer', async () => {
    for (const [label, read, what] of readers) {
      const fifo = at(`fifo-${label.replace(/\W/g, '')}${ext(label)}`);
      const r = spawnSync('mkfifo', [fifo]);
      if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr.toString()}`);
      // No one ever opens the write end: a blocking open would hang here until the test times out.
      await refused(dir, () => read(fifo), fifo, `is a FIFO (named pipe), not ${what}`, 'regular file');
      fs.rmSync(fifo);
    }
  }, 20000);

  it('a device and a directory are refused', async () => {
    for (const [label, read, what] of readers) {
      const dev = at(`dev${ext(label)}`); // a link to /dev/zero, named like the input it poses as
      if (!fs.existsSync(dev)) fs.symlinkSync('/dev/zero', dev);
      await refused(dir, () => read(dev), dev, `is a device, not ${what}`);
      const folder = at(`folder${ext(label)}`);
      fs.mkdirSync(folder, { recursive: true });
      await refused(dir, () => read(folder), folder, `is a directory, not ${what}`);
    }
  });

  it('a symlink loop says so; a missing file says it does not exist', async () => {
    for (const [i, [label, read]] of readers.entries()) {
      const e = ext(label);
      const a = at(`loop-a${i}${e}`);
      const b = at(`loop-b${i}${e}`);
      fs.symlinkSync(b, a);
      fs.symlinkSync(a, b);
      await refused(dir, () => read(a), a, 'is a symbolic link loop');
      await refused(dir, () => read(at(`absent${e}`)), at(`absent${e}`), 'does not exist');
    }
  });
});

describe('images: the pixel limit is checked from the header, before decoding', () => {
  it('a 16000 x 16000 PNG bomb of a few KB is refused by size, naming the fix', async () => {
    const bomb = at('bomb.png');
    fs.writeFileSync(bomb, pngBomb(16000, 16000));
    expect(fs.statSync(bomb).size).toBeLessThan(1 << 20);
    // It really is a 16000 x 16000 image (the header a decoder would trust):
    const meta = await sharp(bomb).metadata();
    expect([meta.width, meta.height]).toEqual([16000, 16000]);
    const msg = await refused(
      dir,
      () => readImage(bomb),
      bomb,
      'is 16000 x 16000 pixels (256.0 megapixels)',
      'over the 50.0 megapixels limit',
      `${MAX_PIXELS_ENV}=256000000`,
    );
    expect(msg).toContain('downscale it');
    await refused(dir, () => readInputTensor(bomb), bomb, '16000 x 16000');
  });

  it('the bomb construction is a real PNG: a small one decodes to all black', async () => {
    const small = at('small-bomb.png');
    fs.writeFileSync(small, pngBomb(1000, 3000));
    const img = await readImage(small);
    expect([img.width, img.height]).toEqual([1000, 3000]);
    expect(img.data.every((v) => v === 0)).toBe(true);
  });

  it('the limit is exact and can be raised (env, option, setMaxPixels)', async () => {
    const img = at('small.png');
    await sharp({ create: { width: 20, height: 15, channels: 3, background: { r: 10, g: 20, b: 30 } } })
      .png()
      .toFile(img);
    const saved = process.env[MAX_PIXELS_ENV];
    try {
      process.env[MAX_PIXELS_ENV] = '299';
      await refused(dir, () => readImage(img), img, 'is 20 x 15 pixels', `${MAX_PIXELS_ENV}=300`);
      process.env[MAX_PIXELS_ENV] = '300';
      expect((await readImage(img)).width).toBe(20);
      await refused(dir, () => readImage(img, { maxPixels: 100 }), 'is 20 x 15 pixels');
      setMaxPixels(250);
      await refused(dir, () => readImage(img), 'over the 0.0 megapixels limit');
      process.env[MAX_PIXELS_ENV] = 'many';
      setMaxPixels(undefined);
      await refused(dir, () => readImage(img), `${MAX_PIXELS_ENV}=many: is not a positive whole number`);
    } finally {
      setMaxPixels(undefined);
      if (saved === undefined) delete process.env[MAX_PIXELS_ENV];
      else process.env[MAX_PIXELS_ENV] = saved;
    }
    expect(DEFAULT_MAX_PIXELS).toBe(50_000_000);
    expect(() => setMaxPixels(-1)).toThrow('is not a positive whole number');
  });

  it('a file that is not an image', async () => {
    const junk = at('junk.png');
    fs.writeFileSync(junk, 'not a png at all');
    await refused(dir, () => readImage(junk), junk, 'is not a readable image');
  });
});

describe('.npy inputs: header first, exact length, a batch that holds images', () => {
  const f4 = (n: number) => Buffer.alloc(4 * n);
  const put = (name: string, bytes: Buffer) => {
    fs.writeFileSync(at(name), bytes);
    return at(name);
  };

  it('N = 0 and zero-sized images are refused clearly', async () => {
    const empty = put('n0.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3, 8, 8), }", f4(0)));
    await refused(dir, () => readInputTensor(empty), empty, 'has shape [0, 3, 8, 8]: it holds no images (N = 0)');
    const flat = put('h0.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 0, 8), }", f4(0)));
    await refused(dir, () => readInputTensor(flat), flat, 'an image with no pixels');
  });

  it('nested, garbled and oversized headers', async () => {
    const nested = put(
      'nested.npy',
      npy(`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(5000)}1${')'.repeat(5000)}, }`, f4(1)),
    );
    await refused(dir, () => readInputTensor(nested), nested, 'malformed header (nested more than 4 deep)');
    const garbled = put('garbled.npy', npy("{'descr': '<f4', 'fortran_order': Fals, 'shape': (1,3,2,2)}", f4(12)));
    await refused(dir, () => readInputTensor(garbled), garbled, 'malformed header');
    const proto = put(
      'proto.npy',
      npy("{'descr': '<f4', '__proto__': {'polluted': True}, 'fortran_order': False, 'shape': (1, 3, 1, 1), }", f4(3)),
    );
    expect((await readNpyFile(proto)).shape).toEqual([1, 3, 1, 1]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const long = Buffer.from(npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 1, 1), ${' '.repeat(70000)}}`, f4(3), 2));
    const big = put('bighead.npy', long);
    await refused(dir, () => readInputTensor(big), big, 'header (at most 65536)');
  });

  it('data must match the header exactly; a huge declared shape is refused before reading', async () => {
    const short = put('short.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4, 4), }", f4(47)));
    await refused(dir, () => readInputTensor(short), short, 'is truncated: shape [1, 3, 4, 4] of <f4 needs 192 data bytes, file has 188');
    const extra = put('extra.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4, 4), }", f4(49)));
    await refused(dir, () => readInputTensor(extra), extra, 'has 4 bytes after the data');
    const huge = put('huge.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 3, 100000, 100000), }", f4(3)));
    await refused(dir, () => readInputTensor(huge), huge, 'more than one array can hold');
    const big = put('big.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 10, 10), }", f4(600)));
    await refused(dir, () => readInputTensor(big, { maxPixels: 150 }), big, '2 image(s) of 10 x 10 pixels', 'over the');
    const nan = put(
      'nan.npy',
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 1, 1), }", Buffer.from(new Float32Array([0, NaN, 1]).buffer)),
    );
    await refused(dir, () => readInputTensor(nan), nan, 'holds NaN at flat index 1');
    expect(() => readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", f4(1)), 'neg.npy')).toThrow(
      'neg.npy: has a malformed header (bad shape)',
    );
  });
});
