import * as fs from 'fs';
import * as path from 'path';
import { readNpy, writeNpy } from '../../src/weights/npy';
import { itWithPython, maxAbsDiff, runFixtures, tempDir } from './python-ref';

const { maybe, missing } = itWithPython('numpy', 'npy');
let dir = '';
let index: Record<string, { descr: string; shape: number[]; fortran: boolean }> = {};

beforeAll(() => {
  dir = tempDir('npy');
  if (missing) return;
  runFixtures(['npy', dir]);
  index = JSON.parse(fs.readFileSync(path.join(dir, 'npy.json'), 'utf-8'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const refValues = (name: string) => {
  const b = fs.readFileSync(path.join(dir, `${name}.ref.bin`));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe('readNpy reads what numpy wrote', () => {
  const names = ['f4', 'f8', 'f2', 'i8', 'i4', 'u1', 'b1', 'be_f4', 'scalar', 'empty', 'fortran', 'v2'];
  for (const name of names) {
    maybe(name, () => {
      const file = path.join(dir, `${name}.npy`);
      const arr = readNpy(fs.readFileSync(file), file);
      const want = index[name];
      expect({ dtype: arr.dtype, shape: arr.shape, fortranOrder: arr.fortranOrder }).toEqual({
        dtype: want.descr,
        shape: want.shape,
        fortranOrder: want.fortran,
      });
      // numpy's own float32 cast of the array, in C order
      expect(maxAbsDiff(arr.data, name === 'v2' ? refValues('f4') : refValues(name))).toBe(0);
    });
  }

  maybe('refuses object, structured and complex arrays naming the file', () => {
    for (const [name, msg] of [
      ['object', "has unsupported dtype '|O'"],
      ['structured', 'has a structured dtype'],
      ['c16', "has unsupported dtype '<c16'"],
    ]) {
      const file = path.join(dir, `${name}.npy`);
      expect(() => readNpy(fs.readFileSync(file), file)).toThrow(`${file}: ${msg}`);
    }
  });
});

describe('readNpy errors', () => {
  const good = () => writeNpy([2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
  it('not an npy file, truncated, trailing bytes, malformed header', () => {
    expect(() => readNpy(Buffer.from('hello world, not numpy'), 'x.npy')).toThrow('x.npy: is not an .npy file');
    const g = good();
    expect(() => readNpy(g.subarray(0, g.length - 4), 't.npy')).toThrow(
      't.npy: is truncated: shape [2, 3] of <f4 needs 24 data bytes, file has 20',
    );
    expect(() => readNpy(Buffer.concat([g, Buffer.alloc(4)]), 'l.npy')).toThrow('l.npy: has 4 bytes after the data');
    const broken = Buffer.from(g);
    broken.write("{'descr': '<f4', 'fortran_order': Maybe", 10, 'latin1');
    expect(() => readNpy(broken, 'h.npy')).toThrow('h.npy: has a malformed header');
    const future = Buffer.from(g);
    future[6] = 9;
    expect(() => readNpy(future, 'v.npy')).toThrow('v.npy: has unsupported .npy format version 9.0');
  });

  it('writeNpy output reads back and its header is 64-byte aligned', () => {
    for (const shape of [[], [5], [2, 3], [1, 2, 3, 4]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 100);
      const buf = writeNpy(shape, data);
      expect((buf.length - 4 * n) % 64).toBe(0);
      expect(buf[buf.length - 4 * n - 1]).toBe(0x0a);
      const back = readNpy(buf, 'mem.npy');
      expect(back.shape).toEqual(shape);
      expect(back.dtype).toBe('<f4');
      expect(maxAbsDiff(back.data, data)).toBe(0);
    }
    expect(() => writeNpy([2, 2], new Float32Array(3))).toThrow('shape [2, 2] has 4 elements but data has 3');
  });
});

maybe('numpy loads what writeNpy wrote, byte-identical to numpy.save', () => {
  const jobs = [[], [7], [2, 3], [3, 1, 4, 5], [123456, 2], [0, 4]].map((shape, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.37 + k) * 10 ** ((i % 7) - 3));
    const p = path.join(dir, `ours-${k}.npy`);
    const ref = path.join(dir, `ours-${k}.bin`);
    fs.writeFileSync(p, writeNpy(shape, data));
    fs.writeFileSync(ref, Buffer.from(data.buffer));
    return { path: p, ref, shape };
  });
  fs.writeFileSync(path.join(dir, 'jobs.json'), JSON.stringify(jobs));
  const report = JSON.parse(runFixtures(['check_npy', path.join(dir, 'jobs.json')])) as {
    dtype: string;
    shape: number[];
    maxAbsDiff: number;
    sameBytes: boolean;
  }[];
  expect(report.map((r) => [r.dtype, r.shape, r.maxAbsDiff, r.sameBytes])).toEqual(jobs.map((j) => ['float32', j.shape, 0, true]));
});
