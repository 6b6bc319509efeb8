import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors';
import { readPth } from '../../src/weights/pth';
import type { StateDict } from '../../src/weights/state-dict';
import { PYTHON, itWithPython, maxAbsDiff, readRef, runFixtures, tempDir } from './python-ref';

const { maybe, missing } = itWithPython('torch', 'safetensors');
let dir = '';

beforeAll(() => {
  dir = tempDir('safetensors');
  if (!missing) runFixtures(['formats', dir]);
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function header(json: object, dataBytes: number): Buffer {
  const h = Buffer.from(JSON.stringify(json));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.alloc(dataBytes)]);
}

describe('readSafetensors', () => {
  maybe('reads a file written from torch tensors by tools/parity/write_safetensors.py', async () => {
    const sd = await readSafetensors(path.join(dir, 'small.safetensors'));
    const ref = readRef(path.join(dir, 'small'));
    expect([...sd.keys()]).toEqual([...ref.keys()]);
    let worst = 0;
    for (const [name, want] of ref) {
      const got = sd.get(name)!;
      expect({ name, dtype: got.dtype, shape: got.shape }).toEqual({ name, dtype: want.dtype, shape: want.shape });
      worst = Math.max(worst, maxAbsDiff(got.data, want.data));
    }
    expect(worst).toBe(0);
  });

  maybe('the write_safetensors.py CLI (in.pth out.safetensors) writes what torch saved', async () => {
    const out = path.join(dir, 'cli.safetensors');
    const script = path.join(__dirname, '..', '..', '..', '..', 'tools', 'parity', 'write_safetensors.py');
    const r = spawnSync(PYTHON, [script, path.join(dir, 'small.pth'), out], { encoding: 'utf-8' });
    expect(r.stderr).toBe('');
    const sd = await readSafetensors(out);
    const ref = readRef(path.join(dir, 'small'));
    expect([...sd.keys()]).toEqual([...ref.keys()]);
    for (const [name, want] of ref) expect([name, maxAbsDiff(sd.get(name)!.data, want.data)]).toEqual([name, 0]);
  });

  it('rejects corrupt headers with a clear error', async () => {
    const bad = async (name: string, bytes: Buffer, msg: string | RegExp) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, bytes);
      await expect(readSafetensors(p)).rejects.toMatchObject({ code: 'E_WEIGHTS', message: expect.stringContaining(p) });
      await expect(readSafetensors(p)).rejects.toThrow(msg);
    };
    const t = (o: object) => ({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, ...o });
    await bad('short.safetensors', Buffer.alloc(5), 'is only 5 bytes long');
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1n << 40n);
    await bad('huge.safetensors', huge, /header length 1099511627776 exceeds the file size 16/);
    const notJson = Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{oops')]);
    await bad('json.safetensors', notJson, 'header is not valid JSON');
    await bad('past-end.safetensors', header(t({}), 4), /tensor 'a' data_offsets \[0, 8\] lie outside the 4 data bytes/);
    await bad(
      'size.safetensors',
      header({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8),
      /needs 12 bytes but data_offsets span 8/,
    );
    await bad(
      'overlap.safetensors',
      header(t({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), 8),
      "tensors 'a' and 'b' overlap",
    );
    await bad('dtype.safetensors', header({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1), "unsupported dtype 'F8_E4M3'");
    await bad('shape.safetensors', header({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), 'malformed shape');
    await expect(readSafetensors(path.join(dir, 'nope.safetensors'))).rejects.toThrow('nope.safetensors: does not exist');
  });
});

describe('writeSafetensors', () => {
  const sample = (): StateDict =>
    new Map([
      ['conv.weight', { dtype: 'float32' as const, shape: [2, 1, 2, 2], data: Float32Array.from({ length: 8 }, (_, i) => i / 3 - 1) }],
      ['bn.num_batches_tracked', { dtype: 'int64' as const, shape: [], data: Float32Array.of(7) }],
      ['empty', { dtype: 'float32' as const, shape: [0], data: new Float32Array(0) }],
      ['fc.bias', { dtype: 'float16' as const, shape: [3], data: Float32Array.of(0.5, -2, 1e-3) }],
    ]);

  it('round trips through readSafetensors (as float32)', async () => {
    const p = path.join(dir, 'round.safetensors');
    await writeSafetensors(p, sample());
    const back = await readSafetensors(p);
    expect([...back.keys()]).toEqual([...sample().keys()]);
    for (const [name, t] of sample()) {
      const got = back.get(name)!;
      expect(got.dtype).toBe('float32');
      expect(got.shape).toEqual(t.shape);
      expect(maxAbsDiff(got.data, t.data)).toBe(0);
    }
    const raw = fs.readFileSync(p);
    expect(Number(raw.readBigUInt64LE(0)) % 8).toBe(0); // data starts 8-byte aligned
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('rejects a record whose data does not match its shape', async () => {
    const sd: StateDict = new Map([['w', { dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }]]);
    await expect(writeSafetensors(path.join(dir, 'bad.safetensors'), sd)).rejects.toThrow("tensor 'w' has shape [2, 2] but 3 values");
  });

  maybe('a .pth read by us and written as safetensors is read by Python with the values torch saved', async () => {
    const p = path.join(dir, 'from-pth.safetensors');
    await writeSafetensors(p, await readPth(path.join(dir, 'small.pth')));
    const report = JSON.parse(runFixtures(['check_safetensors', p, path.join(dir, 'small')])) as {
      maxAbsDiff: number;
      names: string[];
      metadata: Record<string, string>;
    };
    expect(report.maxAbsDiff).toBe(0);
    expect(report.names.length).toBe(readRef(path.join(dir, 'small')).size);
    expect(report.metadata).toEqual({ format: 'pt' });
  });
});
