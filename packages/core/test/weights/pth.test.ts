import * as fs from 'fs';
import * as path from 'path';
import { readPth } from '../../src/weights/pth';
import type { StateDict } from '../../src/weights/state-dict';
import { itWithPython, maxAbsDiff, readRef, runFixtures, tempDir, type RefTensor } from './python-ref';

const { maybe, missing } = itWithPython('torch, torchvision', 'pth');
let dir = '';

beforeAll(() => {
  if (missing) return;
  dir = tempDir('pth');
  runFixtures(['pth', dir]);
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const f = (name: string) => path.join(dir, name);

/** Every key (in order), dtype, shape and value equals torch's; returns the worst difference. */
function expectMatches(sd: StateDict, ref: Map<string, RefTensor>): number {
  expect([...sd.keys()]).toEqual([...ref.keys()]);
  let worst = 0;
  for (const [name, want] of ref) {
    const got = sd.get(name)!;
    expect({ name, dtype: got.dtype, shape: got.shape }).toEqual({ name, dtype: want.dtype, shape: want.shape });
    expect(got.data).toBeInstanceOf(Float32Array);
    const d = maxAbsDiff(got.data, want.data);
    if (d !== 0) throw new Error(`${name}: max abs diff ${d}`);
    worst = Math.max(worst, d);
  }
  return worst;
}

describe('readPth: values equal what torch saved', () => {
  const small = [
    'small_zip.pth',
    'small_legacy.pth',
    'small_zip_p4.pth',
    'small_zip_p5.pth',
    'small_legacy_p4.pth',
    'wrapped_state_dict_zip.pth',
    'wrapped_model_legacy.pth',
    'deflated_zip.pth', // re-zipped with deflate compression
    'cuda_storage_legacy.pth', // torch.cuda.FloatStorage in the persistent ids
    'big_endian_zip.pth', // byteorder 'big' + byte-swapped storages (torch 1.13 itself ignores byteorder)
  ];
  for (const file of small) {
    maybe(file, async () => {
      const sd = await readPth(f(file));
      expect(expectMatches(sd, readRef(f('small')))).toBe(0);
    });
  }

  maybe('int64 num_batches_tracked, dtypes and views come through as records', async () => {
    const sd = await readPth(f('small_zip.pth'));
    const nbt = sd.get('1.num_batches_tracked')!;
    expect(nbt.dtype).toBe('int64');
    expect(nbt.shape).toEqual([]);
    expect(nbt.data[0]).toBe(Math.fround(123456789));
    expect(sd.get('dtype.bf16')!.dtype).toBe('bfloat16');
    expect(sd.get('view.t')!.shape).toEqual([5, 4]);
    expect(sd.get('empty')!.data.length).toBe(0);
    // Records never alias each other's memory, even when torch's tensors share a storage.
    const t = sd.get('view.t')!.data;
    const row = sd.get('view.row')!.data;
    const before = row[0];
    t.fill(42);
    expect(row[0]).toBe(before);
  });

  for (const file of ['params_zip.pth', 'params_legacy.pth']) {
    maybe(`nn.Parameter entries (${file})`, async () => {
      expect(expectMatches(await readPth(f(file)), readRef(f('params')))).toBe(0);
    });
  }

  for (const file of ['squeezenet_zip.pth', 'squeezenet_legacy.pth']) {
    maybe(`torchvision squeezenet1_1 (${file})`, async () => {
      const sd = await readPth(f(file));
      expect(sd.size).toBe(52);
      expect(expectMatches(sd, readRef(f('squeezenet')))).toBe(0);
    });
  }
});

describe('readPth: damaged and unsupported files give clear errors naming the path', () => {
  maybe('first half of a zip checkpoint', async () => {
    const p = f('squeezenet_zip_half.pth');
    await expect(readPth(p)).rejects.toMatchObject({
      code: 'E_WEIGHTS',
      message: expect.stringContaining(`${p}: is truncated or not a valid PyTorch checkpoint; re-download it`),
    });
  });

  maybe('first half of a legacy checkpoint', async () => {
    const p = f('squeezenet_legacy_half.pth');
    await expect(readPth(p)).rejects.toMatchObject({
      code: 'E_WEIGHTS',
      message: expect.stringMatching(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*truncated`)),
    });
  });

  maybe('zip missing a storage entry', async () => {
    await expect(readPth(f('missing_storage.pth'))).rejects.toThrow(/missing_storage\.pth: .*storage '.*data\/0' is missing/);
  });

  for (const file of ['expand_zip.pth', 'expand_legacy.pth']) {
    maybe(`an expanded (stride 0) view is refused, naming the tensor (${file})`, async () => {
      await expect(readPth(f(file))).rejects.toThrow(
        new RegExp(`${file.replace('.', '\\.')}.*tensor 'view\\.expand' has shape \\[2, 3\\], stride \\[0, 1\\].*stride of 0`),
      );
    });
  }

  maybe('a list or a dict with non-tensor values is not a state_dict', async () => {
    await expect(readPth(f('list_zip.pth'))).rejects.toThrow(/list_zip\.pth .*holds a list, not a state_dict/);
    await expect(readPth(f('mixed_zip.pth'))).rejects.toThrow(/mixed_zip\.pth .*entry 'epoch' is a int, not a tensor/);
  });

  it('empty file, random bytes, missing file', async () => {
    const tmp = tempDir('pth-bad');
    try {
      const empty = path.join(tmp, 'empty.pth');
      fs.writeFileSync(empty, '');
      await expect(readPth(empty)).rejects.toThrow(`${empty}: is empty`);
      const random = path.join(tmp, 'random.pth');
      const bytes = Buffer.alloc(4096);
      let s = 12345;
      for (let i = 0; i < bytes.length; i++) bytes[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
      bytes[0] = 0x13; // neither 'P' (zip) nor 0x80 (pickle)
      fs.writeFileSync(random, bytes);
      await expect(readPth(random)).rejects.toThrow(`${random}: is not a PyTorch checkpoint`);
      const zipJunk = path.join(tmp, 'junk.pth');
      fs.writeFileSync(zipJunk, Buffer.concat([Buffer.from('PK\x03\x04'), bytes]));
      await expect(readPth(zipJunk)).rejects.toThrow(`${zipJunk}: is truncated or not a valid PyTorch checkpoint; re-download it`);
      const pickleJunk = path.join(tmp, 'pickle.pth');
      fs.writeFileSync(pickleJunk, Buffer.concat([Buffer.from([0x80, 0x02]), bytes]));
      await expect(readPth(pickleJunk)).rejects.toMatchObject({ code: 'E_WEIGHTS', message: expect.stringContaining(pickleJunk) });
      const missingFile = path.join(tmp, 'nope.pth');
      await expect(readPth(missingFile)).rejects.toThrow(`${missingFile}: does not exist`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
