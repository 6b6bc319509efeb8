/**
 * ParamStore: deterministic seeded init with PyTorch's default bound, exact save/load round
 * trips through safetensors, clear errors for mismatching checkpoints, refusal of non-safetensors.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { isDplError } from '../../src/errors';
import { ParamStore, torchDefaultBound, torchDefaultInit } from '../../src/train/params';
import { readSafetensors } from '../../src/weights/safetensors';
import { useBackend } from '../ops/harness';

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dpl-params-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const values = (v: tf.Tensor) => Float32Array.from(v.dataSync());

/** Rejects with a DplError of `code` whose message matches every pattern; returns the message. */
async function expectDplError(p: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<string> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(isDplError(err)).toBe(true);
  const e = err as Error & { code: string };
  expect(e.code).toBe(code);
  for (const re of patterns) expect(e.message).toMatch(re);
  return e.message;
}

describe('ParamStore initialisation', () => {
  it('is deterministic per (seed, name) and differs across seeds and names', () => {
    const shape = [3, 3, 16, 32];
    const init = torchDefaultInit(3 * 3 * 16);
    const a = new ParamStore(42),
      b = new ParamStore(42),
      c = new ParamStore(43);
    const wa = values(a.param('conv1.weight', shape, init));
    const wb = values(b.param('conv1.weight', shape, init));
    const wc = values(c.param('conv1.weight', shape, init));
    const wa2 = values(a.param('conv2.weight', shape, init));
    expect(wb).toEqual(wa);
    let diffSeed = 0,
      diffName = 0;
    for (let i = 0; i < wa.length; i++) {
      if (wa[i] !== wc[i]) diffSeed++;
      if (wa[i] !== wa2[i]) diffName++;
    }
    expect(diffSeed).toBeGreaterThan(0.99 * wa.length);
    expect(diffName).toBeGreaterThan(0.99 * wa.length);
    // a second request returns the same variable
    expect(a.param('conv1.weight', shape, init)).toBe(a.get('conv1.weight'));
    for (const s of [a, b, c]) s.dispose();
  });

  it('draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)): max |w| within the bound, std close to bound/sqrt(3)', () => {
    const store = new ParamStore(7);
    const fanIn = 3 * 3 * 64;
    const bound = torchDefaultBound(fanIn);
    const w = values(store.param('c.weight', [3, 3, 64, 64], torchDefaultInit(fanIn)));
    let max = 0,
      sum = 0,
      sq = 0;
    for (const v of w) {
      max = Math.max(max, Math.abs(v));
      sum += v;
      sq += v * v;
    }
    const mean = sum / w.length;
    const std = Math.sqrt(sq / w.length - mean * mean);
    const want = bound / Math.sqrt(3);
    console.log(
      `init: n ${w.length}, bound ${bound.toFixed(5)}, max|w| ${max.toFixed(5)}, std ${std.toFixed(5)} (expected ${want.toFixed(5)}, rel. diff ${(Math.abs(std - want) / want).toExponential(2)}), mean ${mean.toExponential(2)}`,
    );
    expect(max).toBeLessThanOrEqual(bound * (1 + 1e-6)); // float32 rounding of the bound itself
    expect(max).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(std - want) / want).toBeLessThan(0.02);
    expect(Math.abs(mean)).toBeLessThan(0.02 * bound);
    store.dispose();
  });

  it('refuses a second request of a name with another shape', () => {
    const store = new ParamStore(1);
    store.param('x', [2, 3], { kind: 'constant', value: 0 });
    expect(() => store.param('x', [3, 2], { kind: 'constant', value: 0 })).toThrow(/'x'.*\[2, 3\].*\[3, 2\]/);
    store.dispose();
  });

  it('keeps non-trainable variables out of trainableVariables()', () => {
    const store = new ParamStore(1);
    const w = store.param('w', [2], { kind: 'constant', value: 1 });
    store.param('stat', [2], { kind: 'constant', value: 0 }, false);
    expect(store.trainableVariables()).toEqual([w]);
    expect(store.names()).toEqual(['w', 'stat']);
    store.dispose();
  });

  it('dispose frees every variable', () => {
    const before = tf.memory().numTensors;
    const store = new ParamStore(3);
    store.param('a', [4, 4], torchDefaultInit(4));
    store.param('b', [4], { kind: 'constant', value: 1 }, false);
    expect(tf.memory().numTensors).toBe(before + 2);
    store.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** A store with trainable and non-trainable parameters whose values are not their inits. */
function makeStore(seed: number, bShape = [3, 3, 2, 4], withC = true): ParamStore {
  const s = new ParamStore(seed);
  s.param('a.weight', [5, 2], torchDefaultInit(5));
  s.param('b.weight', bShape, torchDefaultInit(18));
  if (withC) s.param('c.running_var', [4], { kind: 'constant', value: 1 }, false);
  return s;
}

describe('ParamStore save / load', () => {
  it('round-trips every parameter exactly, with step, metric and config', async () => {
    const src = makeStore(11);
    // values unlike any init: the load must really copy them
    tf.tidy(() => src.get('c.running_var').assign(tf.tensor1d([0.5, 1.5, 2.5, 1e-7])));
    const file = path.join(dir, 'rt.safetensors');
    await src.save(file, { step: 123, metric: 0.25, config: { lr: 1e-3, tag: 'x' } });
    const dst = makeStore(99);
    expect(values(dst.get('a.weight'))).not.toEqual(values(src.get('a.weight')));
    const meta = await dst.load(file);
    expect(meta).toEqual({ step: 123, metric: 0.25, config: { lr: 1e-3, tag: 'x' } });
    for (const n of src.names()) expect(values(dst.get(n))).toEqual(values(src.get(n)));
    expect(dst.trainableVariables().length).toBe(2);
    // the file is plain safetensors that core's reader reads
    const sd = await readSafetensors(file);
    expect([...sd.keys()]).toEqual(['a.weight', 'b.weight', 'c.running_var']);
    expect(sd.get('b.weight')!.shape).toEqual([3, 3, 2, 4]);
    src.dispose();
    dst.dispose();
  });

  it('names each mismatch: a wrong shape, a missing and an unexpected tensor', async () => {
    const src = makeStore(5, [3, 3, 2, 4], false);
    const file = path.join(dir, 'mismatch.safetensors');
    await src.save(file);
    const dst = makeStore(6, [3, 3, 2, 8], true);
    dst.param('d.bias', [7], { kind: 'constant', value: 0 });
    const before = values(dst.get('a.weight'));
    const msg = await expectDplError(
      dst.load(file),
      'E_WEIGHTS',
      /'b\.weight' has shape \[3, 3, 2, 4\] in the checkpoint, the model expects \[3, 3, 2, 8\]/,
      /missing 'c\.running_var' \[4\]/,
      /missing 'd\.bias' \[7\]/,
    );
    console.log(`mismatch error: ${msg}`);
    // nothing was assigned
    expect(values(dst.get('a.weight'))).toEqual(before);
    const small = new ParamStore(1);
    small.param('a.weight', [5, 2], torchDefaultInit(5));
    await expectDplError(small.load(file), 'E_WEIGHTS', /unexpected 'b\.weight' \[3, 3, 2, 4\]/);
    for (const s of [src, dst, small]) s.dispose();
  });

  it('refuses a pickle, a zip (.pth) and a code file: only safetensors is read', async () => {
    const store = makeStore(1);
    const cases: [string, Buffer, RegExp][] = [
      [
        'pickle.pt',
        Buffer.from([0x80, 0x02, 0x63, 0x6f, 0x73, 0x0a, 0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x0a, 0x71, 0x00, 0x2e]),
        /Python pickle/,
      ],
      ['torch.pth', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60)]), /zip archive/],
      ['code.safetensors', Buffer.from("import os\nos.system('echo pwned')\n"), /not a safetensors file/],
    ];
    for (const [name, bytes, what] of cases) {
      const file = path.join(dir, name);
      await fs.writeFile(file, bytes);
      await expectDplError(store.load(file), 'E_WEIGHTS', what, /only as safetensors/);
    }
    await expectDplError(store.load(path.join(dir, 'absent.safetensors')), 'E_WEIGHTS', /absent\.safetensors: does not exist/);
    store.dispose();
  });
});
