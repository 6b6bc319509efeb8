/**
 * Hostile checkpoints: every one is refused with an error naming the file (and the tensor or
 * entry), before the claimed data is allocated, and nothing is written. Hand-built bytes for the
 * malicious layouts (torch would never write them); torch itself writes the NaN/Inf files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { expectBackbone, readWeights } from '../../src/weights/read-weights';
import type { StateDict } from '../../src/weights/state-dict';
import { readSafetensors } from '../../src/weights/safetensors';
import { PICKLE_LIMITS, unpickle } from '../../src/weights/pickle';
import { MAX_WEIGHTS_BYTES_ENV } from '../../src/weights/limits';
import { weightsError } from '../../src/errors';
import { itWithPython, runFixtures } from '../weights/python-ref';
import { f32, legacyPth, oneTensor, pGlobal, pInt, pStr, stateDictPickle, zip, zipPth, type CraftTensor } from './craft';
import { refused, scratch } from './helpers';

let dir = '';
beforeAll(() => {
  dir = scratch('ckpt');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes `bytes` as `name` in the scratch folder and returns its path. */
const put = (name: string, bytes: Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};
/** The file must be refused by readWeights with a message naming it and containing `parts`. */
const expectRefused = (file: string, ...parts: (string | RegExp)[]) => refused(dir, () => readWeights(file), file, ...parts);

/** Each layout as a zip-format and a legacy-format checkpoint over one storage of `numel` floats. */
function both(name: string, t: Omit<CraftTensor, 'name' | 'key' | 'storageNumel'>, numel: number): [string, string] {
  const tensors = [{ ...t, name: 'w', key: '0', storageNumel: numel }];
  const data = f32(new Array<number>(numel).fill(0.5));
  return [
    put(`${name}_zip.pth`, zipPth(tensors, { '0': data })),
    put(`${name}_legacy.pth`, legacyPth(tensors, { '0': { count: numel, data } })),
  ];
}

describe('tensor views are checked against their storage before any data is read', () => {
  it("the issue's example: a tiny file holding a 30000 x 30000 stride-0 tensor", async () => {
    for (const file of both('stride0', { shape: [30000, 30000], stride: [0, 0] }, 1)) {
      expect(fs.statSync(file).size).toBeLessThan(1000);
      await expectRefused(file, "tensor 'w'", 'stride [0, 0]', 'a stride of 0 repeats one storage element');
    }
  });

  it('stride 0 on one dimension, and an overlapping (aliasing) stride pattern', async () => {
    for (const file of both('expand', { shape: [2, 3], stride: [0, 1] }, 3)) await expectRefused(file, "tensor 'w'", 'stride of 0');
    for (const file of both('overlap', { shape: [4, 4], stride: [1, 1] }, 7)) {
      await expectRefused(file, "tensor 'w'", 'shape [4, 4], stride [1, 1]', 'its strides make storage elements appear more than once');
    }
  });

  it('views reaching past their storage, by shape or by offset', async () => {
    for (const file of both('past', { shape: [10], stride: [1] }, 5))
      await expectRefused(file, 'reaches element 9 of a storage with 5 elements');
    for (const file of both('offset', { shape: [3], stride: [1], offset: 4 }, 5)) await expectRefused(file, 'reaches element 6');
  });

  it('negative, absurd and overflowing dimensions', async () => {
    for (const file of both('negative', { shape: [-3], stride: [1] }, 5))
      await expectRefused(file, /tensor size must be a non-negative integer/);
    for (const file of both('huge', { shape: [2 ** 20, 2 ** 20], stride: [2 ** 20, 1] }, 4)) {
      await expectRefused(file, "tensor 'w'", 'more than one array can hold');
    }
    const bigStorage = [{ name: 'w', key: '0', storageNumel: 2n ** 40n, shape: [4], stride: [1] }];
    await expectRefused(
      put('bigstorage.pth', zipPth(bigStorage, { '0': f32([1, 2, 3, 4]) })),
      "tensor 'w' lives in a storage of 1099511627776 elements",
    );
    const deep = { shape: new Array<number>(65).fill(1), stride: new Array<number>(65).fill(1) };
    for (const file of both('rank', deep, 1)) await expectRefused(file, 'has 65 dimensions (at most 64)');
  });

  it('the total a file may materialise is capped; the message names the override', async () => {
    const { tensors, storages } = oneTensor(new Array<number>(1000).fill(1));
    const file = put('total.pth', zipPth(tensors, storages));
    const saved = process.env[MAX_WEIGHTS_BYTES_ENV];
    try {
      process.env[MAX_WEIGHTS_BYTES_ENV] = '3999';
      await expectRefused(file, 'over the 3999 bytes limit for one weights file', `${MAX_WEIGHTS_BYTES_ENV}=`);
      const legacy = put('total_legacy.pth', legacyPth(tensors, { '0': { count: 1000, data: storages['0'] } }));
      process.env[MAX_WEIGHTS_BYTES_ENV] = '1000'; // a legacy file is read whole: its size is checked first
      await expectRefused(legacy, /holds \d+ bytes \(read at once\), over the 1000 bytes limit/);
      // the tensor covers its whole storage, so it is the decoded storage itself: 4000 bytes, not
      // 2 x 4000 (and the legacy file, read whole, is 4244 bytes)
      process.env[MAX_WEIGHTS_BYTES_ENV] = '4300';
      expect((await readWeights(legacy)).get('w')!.data.length).toBe(1000);
      expect((await readWeights(file)).get('w')!.data.length).toBe(1000);
      process.env[MAX_WEIGHTS_BYTES_ENV] = 'lots';
      await refused(dir, () => readWeights(file), `${MAX_WEIGHTS_BYTES_ENV}=lots: is not a positive whole number of bytes`);
    } finally {
      if (saved === undefined) delete process.env[MAX_WEIGHTS_BYTES_ENV];
      else process.env[MAX_WEIGHTS_BYTES_ENV] = saved;
    }
  });

  it('a storage whose stored size disagrees with its pickle', async () => {
    const { tensors } = oneTensor([1, 2, 3, 4]);
    await expectRefused(
      put('short_storage.pth', zipPth(tensors, { '0': f32([1, 2]) })),
      "zip entry 'archive/data/0' declares 8 bytes where its storage needs 16",
    );
    await expectRefused(
      put('legacy_count.pth', legacyPth(tensors, { '0': { count: 2, data: f32([1, 2]) } })),
      "storage '0' holds 2 elements where its pickle declares 4",
    );
    await expectRefused(
      put('legacy_bigcount.pth', legacyPth(tensors, { '0': { count: 2n ** 40n, data: f32([1, 2, 3, 4]) } })),
      "storage '0' holds 1099511627776 elements",
    );
  });

  it('a view that is legitimate (transposed slice of a shared storage) still reads', async () => {
    const tensors: CraftTensor[] = [
      { name: 't', key: '0', storageNumel: 6, shape: [3, 2], stride: [1, 3] },
      { name: 'row', key: '0', storageNumel: 6, shape: [3], stride: [1], offset: 3 },
    ];
    const sd = await readWeights(put('ok.pth', zipPth(tensors, { '0': f32([0, 1, 2, 3, 4, 5]) })));
    expect([...sd.get('t')!.data]).toEqual([0, 3, 1, 4, 2, 5]);
    expect([...sd.get('row')!.data]).toEqual([3, 4, 5]);
  });
});

describe('NaN and infinite weights are refused, naming the tensor and the file', () => {
  for (const [label, value] of [
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ] as const) {
    it(`${label} (zip, legacy, safetensors)`, async () => {
      const { tensors, storages } = oneTensor([1, 2, value, 4]);
      const tag = label.replace('-', 'neg');
      await expectRefused(put(`${tag}_zip.pth`, zipPth(tensors, storages)), `tensor 'w' holds ${label} (at flat index 2)`);
      await expectRefused(
        put(`${tag}_legacy.pth`, legacyPth(tensors, { '0': { count: 4, data: storages['0'] } })),
        `tensor 'w' holds ${label}`,
      );
      const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      const st = put(`${tag}.safetensors`, Buffer.concat([len, header, storages['0']]));
      await refused(dir, () => readSafetensors(st), st, `tensor 'w' holds ${label}`);
    });
  }

  const { maybe, missing } = itWithPython('torch', 'hostile');
  maybe('files torch itself wrote with NaN / Inf parameters (zip and legacy)', async () => {
    if (missing) return;
    const out = scratch('nan-torch');
    try {
      runFixtures(['nonfinite', out]);
      for (const f of ['nan_zip.pth', 'nan_legacy.pth']) {
        await refused(out, () => readWeights(path.join(out, f)), f, "tensor '0.weight' holds NaN");
      }
      await refused(out, () => readWeights(path.join(out, 'inf_half_zip.pth')), "tensor '0.bias' holds Infinity");
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("a backbone's expected keys and shapes are compared before tensor data is read", () => {
  /** A stand-in backbone whose check needs 'w' of shape [4]; it records what it was shown. */
  const backbone = (want: number[]) => {
    const seen: StateDict[] = [];
    return {
      seen,
      prepareWeights(sd: StateDict, source: string) {
        seen.push(sd);
        const w = sd.get('w');
        if (!w || w.shape.join() !== want.join()) throw weightsError(source, `is not a tiny checkpoint: 'w' must be [${want.join(', ')}]`);
        return sd;
      },
    };
  };

  it('a mismatch is reported from the header: the (NaN) data is never looked at', async () => {
    const { tensors, storages } = oneTensor([NaN, 1, 2, 3]);
    const files = [
      put('expect_zip.pth', zipPth(tensors, storages)),
      put('expect_legacy.pth', legacyPth(tensors, { '0': { count: 4, data: storages['0'] } })),
    ];
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    files.push(put('expect.safetensors', Buffer.concat([len, header, storages['0']])));
    for (const file of files) {
      const b = backbone([5]);
      await refused(dir, () => readWeights(file, { expect: expectBackbone(b, file) }), file, "'w' must be [5]");
      // It saw names, dtypes and shapes only.
      expect(b.seen).toHaveLength(1);
      expect(b.seen[0].get('w')).toMatchObject({ dtype: 'float32', shape: [4] });
      expect(b.seen[0].get('w')!.data.length).toBe(0);
      // With matching expectations the read goes on to the data, where the NaN is found.
      await refused(dir, () => readWeights(file, { expect: expectBackbone(backbone([4]), file) }), "tensor 'w' holds NaN");
    }
  });
});

describe('zip archives: truncated, traversing, duplicate and lying entries', () => {
  const good = () => {
    const { tensors, storages } = oneTensor([1, 2, 3, 4]);
    return zipPth(tensors, storages);
  };

  it('a truncated archive (every cut) is refused as truncated or invalid', async () => {
    const whole = good();
    for (const cut of [10, 40, Math.floor(whole.length / 2), whole.length - 30, whole.length - 1]) {
      await expectRefused(
        put(`cut${cut}.pth`, whole.subarray(0, cut)),
        /truncated|not a valid PyTorch checkpoint|not a PyTorch checkpoint/,
      );
    }
  });

  it('an entry name that climbs out of the archive, or is absolute', async () => {
    const pkl = stateDictPickle(oneTensor([1]).tensors);
    for (const name of ['archive/../../../etc/evil', '/etc/passwd', 'archive\\..\\evil']) {
      const file = put(
        'traverse.pth',
        zip([
          { name: 'archive/data.pkl', data: pkl },
          { name, data: f32([1]) },
        ]),
      );
      await expectRefused(file, /points outside the archive|invalid relative path|absolute path|invalid characters/);
    }
  });

  it('two entries with the same name', async () => {
    const pkl = stateDictPickle(oneTensor([1]).tensors);
    const file = put(
      'dup.pth',
      zip([
        { name: 'archive/data.pkl', data: pkl },
        { name: 'archive/data/0', data: f32([1]) },
        { name: 'archive/data/0', data: f32([2]) },
      ]),
    );
    await expectRefused(file, "two zip entries named 'archive/data/0'");
  });

  it('an entry whose declared size runs past the archive', async () => {
    const pkl = stateDictPickle(oneTensor([1, 2, 3, 4]).tensors);
    const file = put(
      'lying.pth',
      zip([
        { name: 'archive/data.pkl', data: pkl },
        { name: 'archive/data/0', data: f32([1, 2, 3, 4]), declaredSize: 1 << 30 },
      ]),
    );
    await expectRefused(file, /declares 1073741824 bytes where its storage needs 16|truncated|not a valid/);
  });
});

describe('pickles: nesting, recursion and size are bounded; nothing runs', () => {
  /** data.pkl with the given opcodes after PROTO 2, then STOP. */
  const pklFile = (name: string, body: number[]) => put(name, zipPth([], {}, { pickle: Buffer.from([0x80, 2, ...body, 0x2e]) }));

  it('lists nested deeper than the limit', async () => {
    const depth = PICKLE_LIMITS.depth + 5;
    const body = [...new Array<number>(depth).fill(0x5d), ...new Array<number>(depth - 1).fill(0x61)]; // EMPTY_LIST x n, APPEND x n-1
    await expectRefused(pklFile('nested.pth', body), `containers nested more than ${PICKLE_LIMITS.depth} deep`);
  });

  it('100000 nested tuples do not overflow the stack', async () => {
    const body = [0x29, ...new Array<number>(100_000).fill(0x85)]; // EMPTY_TUPLE, TUPLE1 x n
    await expectRefused(pklFile('tuples.pth', body), 'nested more than');
  });

  it('a list that contains itself, and a dict that contains itself', async () => {
    await expectRefused(pklFile('selflist.pth', [0x5d, 0x71, 0, 0x68, 0, 0x61]), 'a container that holds itself'); // l = []; l.append(l)
    await expectRefused(pklFile('selfdict.pth', [0x7d, 0x71, 0, 0x8c, 1, 0x6b, 0x68, 0, 0x73]), 'a container that holds itself'); // d['k'] = d
  });

  it('a memo bomb (a million distinct memo slots)', () => {
    const n = PICKLE_LIMITS.memo + 1;
    const buf = Buffer.alloc(3 + 5 * n + 1);
    buf.set([0x80, 2, 0x4e]); // NONE
    for (let i = 0; i < n; i++) {
      buf[3 + 5 * i] = 0x72; // LONG_BINPUT i
      buf.writeUInt32LE(i, 4 + 5 * i);
    }
    buf[buf.length - 1] = 0x2e;
    expect(() => unpickle(buf, { source: 'memo.pkl' })).toThrow(`more than ${PICKLE_LIMITS.memo} memo entries`);
  });

  it('a long APPENDS run and repeated OrderedDict copies stay within the work budget', () => {
    // 2M items in one MARK: a JS spread would overflow the call stack; here it is a plain loop.
    const items = 2_000_000;
    const buf = Buffer.alloc(4 + items + 2);
    buf.set([0x80, 2, 0x5d, 0x28]);
    buf.fill(0x4e, 4, 4 + items); // NONE x n
    buf.set([0x65, 0x2e], 4 + items); // APPENDS, STOP
    expect(Array.isArray(unpickle(buf, { source: 'appends.pkl' }).value)).toBe(true);
    // d = {0: None, ..} (one SETITEMS of 10k pairs), then OrderedDict(d) 200 times: the copies are
    // counted before they are made, so a small budget stops them early.
    const pairs = 10_000;
    const parts: number[] = [0x80, 2, 0x7d, 0x71, 0, 0x28];
    for (let i = 0; i < pairs; i++) parts.push(...pInt(i), 0x4e);
    parts.push(0x75, 0x30); // SETITEMS, POP
    for (let i = 0; i < 200; i++) parts.push(...pGlobal('collections', 'OrderedDict'), 0x68, 0, 0x85, 0x52, 0x30);
    parts.push(0x4e, 0x2e);
    const saved = PICKLE_LIMITS.work;
    PICKLE_LIMITS.work = 1_000_000;
    try {
      expect(() => unpickle(Buffer.from(parts), { source: 'copies.pkl' })).toThrow('more than 1000000 steps');
    } finally {
      PICKLE_LIMITS.work = saved;
    }
  });

  it('an unknown global is refused at the opcode (a file that would run code)', async () => {
    const body = [...pGlobal('os', 'system'), ...pStr('touch /tmp/x'), 0x85, 0x52];
    await expectRefused(pklFile('system.pth', body), "references the global 'os.system'");
  });
});
