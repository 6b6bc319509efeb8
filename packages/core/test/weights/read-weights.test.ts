import * as fs from 'fs';
import * as path from 'path';
import { detectWeightsFormat, readWeights } from '../../src/weights/read-weights';
import { writeSafetensors } from '../../src/weights/safetensors';
import { itWithPython, maxAbsDiff, readRef, runFixtures, tempDir } from './python-ref';

const { maybe, missing } = itWithPython('torch', 'read-weights');
let dir = '';

beforeAll(() => {
  dir = tempDir('read-weights');
  if (!missing) runFixtures(['formats', dir]);
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('readWeights picks the reader by content', () => {
  const cases: [string, string][] = [
    ['small.pth', 'pth-zip'],
    ['small_legacy.pth', 'pth-legacy'],
    ['small.safetensors', 'safetensors'],
  ];
  for (const [file, format] of cases) {
    maybe(`${file} -> ${format}, values equal torch's`, async () => {
      // A misleading extension must not matter.
      const renamed = path.join(dir, `renamed-${file.replace(/\./g, '_')}.bin`);
      fs.copyFileSync(path.join(dir, file), renamed);
      for (const p of [path.join(dir, file), renamed]) {
        expect(await detectWeightsFormat(p)).toBe(format);
        const sd = await readWeights(p);
        const ref = readRef(path.join(dir, 'small'));
        expect([...sd.keys()]).toEqual([...ref.keys()]);
        for (const [name, want] of ref) {
          const got = sd.get(name)!;
          expect([name, got.dtype, got.shape, maxAbsDiff(got.data, want.data)]).toEqual([name, want.dtype, want.shape, 0]);
        }
      }
    });
  }

  it('a safetensors file we wrote is recognised without its extension', async () => {
    const p = path.join(dir, 'ours.weights');
    await writeSafetensors(p, new Map([['w', { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) }]]));
    expect(await detectWeightsFormat(p)).toBe('safetensors');
    expect([...(await readWeights(p)).get('w')!.data]).toEqual([1, 2]);
  });

  it.each([0x0280, 0x0580])(
    'a safetensors file with a %i-byte header (its first bytes 0x80 0x02..0x05, as in a pickle) is read as safetensors',
    async (n) => {
      const json = JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }).padEnd(n, ' ');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(n));
      const p = path.join(dir, `header-${n}.bin`);
      fs.writeFileSync(p, Buffer.concat([len, Buffer.from(json), Buffer.from(Float32Array.of(3, 4).buffer)]));
      expect([...fs.readFileSync(p).subarray(0, 2)]).toEqual([0x80, n >> 8]);
      expect(await detectWeightsFormat(p)).toBe('safetensors');
      expect([...(await readWeights(p)).get('w')!.data]).toEqual([3, 4]);
    },
  );

  it('missing, empty, directory and unknown files give errors naming the path', async () => {
    const missingFile = path.join(dir, 'absent.pth');
    await expect(readWeights(missingFile)).rejects.toMatchObject({
      code: 'E_WEIGHTS',
      message: expect.stringContaining(`${missingFile}: does not exist`),
    });
    const empty = path.join(dir, 'empty.pth');
    fs.writeFileSync(empty, '');
    await expect(readWeights(empty)).rejects.toThrow(`${empty}: is empty`);
    await expect(readWeights(dir)).rejects.toThrow(`${dir}: is a directory`);
    const text = path.join(dir, 'notes.pth');
    fs.writeFileSync(text, 'these are not weights, just some text that is long enough');
    await expect(readWeights(text)).rejects.toThrow(`${text}: is not a weights file this reader knows`);
    // A damaged safetensors file keeps the safetensors reader's specific error.
    const damaged = path.join(dir, 'damaged.safetensors');
    fs.writeFileSync(damaged, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x7b]));
    await expect(readWeights(damaged)).rejects.toThrow(`${damaged}: header length`);
  });
});
