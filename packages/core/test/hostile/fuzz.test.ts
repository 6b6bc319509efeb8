/**
 * Property tests: the .pth (zip and legacy), safetensors and .npy readers fed random bytes and
 * mutations of small valid files (flipped bytes, overwritten runs, truncation, splices). A read
 * may succeed or fail, but the only failure allowed is a DplError: never a TypeError, RangeError,
 * crash or hang. fast-check prints the seed and the shrunk counterexample of any failure.
 */
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { isDplError } from '../../src/errors';
import { readNpy, writeNpy } from '../../src/weights/npy';
import { readWeights } from '../../src/weights/read-weights';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors';
import type { StateDict } from '../../src/weights/state-dict';
import { f32, legacyPth, zipPth, type CraftTensor } from './craft';
import { scratch } from './helpers';

/** DPL_FUZZ_RUNS raises the count for a longer local search. */
const RUNS = Number(process.env.DPL_FUZZ_RUNS ?? 150);
let dir = '';
const seeds: Record<string, Buffer> = {};

beforeAll(async () => {
  dir = scratch('fuzz');
  const tensors: CraftTensor[] = [
    { name: 'conv.weight', key: '0', storageNumel: 12, shape: [2, 3, 1, 2], stride: [6, 2, 2, 1] },
    { name: 'conv.weight_t', key: '0', storageNumel: 12, shape: [3, 2], stride: [1, 3], offset: 2 },
    { name: 'bn.num_batches_tracked', key: '1', storageNumel: 1, shape: [], stride: [], storageClass: 'LongStorage' },
  ];
  const w = f32(Array.from({ length: 12 }, (_, i) => i / 7 - 0.5));
  const nbt = Buffer.alloc(8);
  nbt.writeBigInt64LE(42n);
  seeds.zip = zipPth(tensors, { '0': w, '1': nbt });
  seeds.legacy = legacyPth(tensors, { '0': { count: 12, data: w }, '1': { count: 1, data: nbt } });
  const sd: StateDict = new Map([
    ['a', { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
    ['b', { dtype: 'float32', shape: [1], data: new Float32Array([7]) }],
  ]);
  const st = path.join(dir, 'seed.safetensors');
  await writeSafetensors(st, sd);
  seeds.safetensors = fs.readFileSync(st);
  seeds.npy = writeNpy(
    [1, 3, 2, 2],
    new Float32Array(12).map((_, i) => i),
  );
  // The seeds themselves are valid: mutations start from files the readers accept.
  for (const name of ['zip', 'legacy']) {
    fs.writeFileSync(path.join(dir, `seed-${name}.pth`), seeds[name]);
    expect((await readWeights(path.join(dir, `seed-${name}.pth`))).size).toBe(3);
  }
  expect((await readSafetensors(st)).size).toBe(2);
  expect(readNpy(seeds.npy, 'seed.npy').shape).toEqual([1, 3, 2, 2]);
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

type Mutation =
  | { kind: 'flip'; at: number; bits: number }
  | { kind: 'set'; at: number; bytes: Uint8Array }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array }
  | { kind: 'cut'; at: number; len: number }
  | { kind: 'dup'; at: number; len: number; to: number };

const pos = fc.nat({ max: 1 << 16 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: pos, bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: pos }),
  fc.record({ kind: fc.constant('splice' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: pos, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('dup' as const), at: pos, len: fc.integer({ min: 1, max: 64 }), to: pos }),
);

function apply(seed: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] ^= m.bits;
    else if (m.kind === 'set') b.set(m.bytes.subarray(0, b.length - at), at);
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'splice') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else if (m.kind === 'cut') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else b = Buffer.concat([b.subarray(0, m.to % b.length), b.subarray(at, at + m.len), b.subarray(m.to % b.length)]);
  }
  return b;
}

/** Resolves when `read` succeeds or throws a DplError; anything else fails the property. */
async function onlyDplErrors(read: () => unknown): Promise<void> {
  try {
    await read();
  } catch (e) {
    if (!isDplError(e)) throw new Error(`non-DplError escaped: ${(e as Error)?.stack ?? String(e)}`);
  }
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

describe('readers give only DplErrors for mutated and random bytes', () => {
  for (const [name, ext] of [
    ['zip', '.pth'],
    ['legacy', '.pth'],
    ['safetensors', '.safetensors'],
  ] as const) {
    it(`${name} checkpoints (mutated valid files)`, async () => {
      const file = path.join(dir, `mutant-${name}${ext}`);
      await fc.assert(
        fc.asyncProperty(mutations, async (ms) => {
          fs.writeFileSync(file, apply(seeds[name], ms));
          await onlyDplErrors(() => readWeights(file));
        }),
        { numRuns: RUNS },
      );
    });
  }

  it("weights files of random bytes behind each format's magic", async () => {
    const file = path.join(dir, 'random.pth');
    const magic = fc.constantFrom(
      Buffer.from('PK\x03\x04', 'latin1'),
      Buffer.from([0x80, 0x02]),
      Buffer.from([0x20, 0, 0, 0, 0, 0, 0, 0, 0x7b]),
      Buffer.alloc(0),
    );
    await fc.assert(
      fc.asyncProperty(magic, fc.uint8Array({ maxLength: 2048 }), async (head, body) => {
        fs.writeFileSync(file, Buffer.concat([head, body]));
        await onlyDplErrors(() => readWeights(file));
      }),
      { numRuns: RUNS },
    );
  });

  it('.npy (mutated valid files and random bytes)', async () => {
    await fc.assert(
      fc.asyncProperty(mutations, async (ms) => {
        await onlyDplErrors(() => readNpy(apply(seeds.npy, ms), 'mutant.npy'));
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (body) => {
        await onlyDplErrors(() => readNpy(Buffer.concat([seeds.npy.subarray(0, 10), body]), 'random.npy'));
      }),
      { numRuns: RUNS },
    );
  });
});
