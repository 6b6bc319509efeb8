/**
 * Bounded peak memory: each hostile file is read by a fresh child process (the built
 * packages/core/dist, so `npm run build` first, as `npm test` does) that reports its own peak RSS
 * (VmHWM from /proc/self/status). The file claims gigabytes; the child must stay under
 * PEAK_BOUND while giving the expected error. Before these checks the same files took 1.7-6.9 GB.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { f32, legacyPth, npy, pngBomb, zip, zipPth, stateDictPickle, type CraftTensor } from './craft';
import { scratch } from './helpers';

const DIST = path.resolve(__dirname, '../../dist/index.js');
const PEAK_BOUND = 400 * 1024 * 1024;

let dir = '';
beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: build first (npx tsc -b tsconfig.build.json, or npm run build)`);
  dir = scratch('memory');
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface ChildReport {
  ok: boolean;
  isDpl?: boolean;
  message?: string;
  maxRssBytes: number;
}

/** Runs `call` (an expression over `core` and `file`, returning a promise) in a child; returns its report. */
function inChild(file: string, call: string): ChildReport {
  const script = `
    const core = require(${JSON.stringify(DIST)});
    const file = ${JSON.stringify(file)};
    // VmHWM is this process's own peak; getrusage's maxRSS also keeps the peak of the image it was
    // exec'd from (the jest worker that forked it), so it says nothing about the child on Linux.
    const peak = () => {
      try {
        const m = /VmHWM:\\s+(\\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));
        if (m) return Number(m[1]) * 1024;
      } catch {}
      return process.resourceUsage().maxRSS * 1024;
    };
    const report = (r) => { process.stdout.write(JSON.stringify({ ...r, maxRssBytes: peak() })); };
    if (typeof core.expectBackbone !== 'function') { report({ ok: false, message: 'stale dist: rebuild packages/core' }); process.exit(0); }
    Promise.resolve().then(() => ${call}).then(
      () => report({ ok: true }),
      (e) => report({ ok: false, isDpl: core.isDplError(e), message: String(e && e.message) }),
    );`;
  // The timeout only guards against a hang (reported as a failure); no time is asserted.
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf-8', timeout: 120_000, env: { ...process.env, DPL_DEBUG: '' } });
  if (r.status !== 0 || !r.stdout) throw new Error(`child failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as ChildReport;
}

function expectBoundedRefusal(file: string, call: string, ...parts: string[]) {
  const rep = inChild(file, call);
  expect(rep.message).not.toContain('stale dist');
  expect(rep).toMatchObject({ ok: false, isDpl: true });
  for (const p of parts) expect(rep.message).toContain(p);
  expect(rep.maxRssBytes).toBeGreaterThan(0);
  expect(rep.maxRssBytes).toBeLessThan(PEAK_BOUND);
  return rep;
}

const put = (name: string, bytes: Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};

describe('hostile files are refused with bounded peak memory (child process)', () => {
  const stride0: CraftTensor[] = [{ name: 'w', key: '0', storageNumel: 1, shape: [30000, 30000], stride: [0, 0] }];

  it('a stride-0 30000 x 30000 tensor (zip and legacy .pth): 3.6 GB claimed', () => {
    const z = put('stride0.pth', zipPth(stride0, { '0': f32([1]) }));
    expectBoundedRefusal(z, 'core.readWeights(file)', 'stride of 0');
    const l = put('stride0_legacy.pth', legacyPth(stride0, { '0': { count: 1, data: f32([1]) } }));
    expectBoundedRefusal(l, 'core.readWeights(file)', 'stride of 0');
  });

  it('a contiguous 2^20 x 2^20 tensor over a 4-element storage', () => {
    const t: CraftTensor[] = [{ name: 'w', key: '0', storageNumel: 4, shape: [2 ** 20, 2 ** 20], stride: [2 ** 20, 1] }];
    expectBoundedRefusal(put('huge.pth', zipPth(t, { '0': f32([1, 2, 3, 4]) })), 'core.readWeights(file)', 'more than one array can hold');
  });

  it('a zip entry declaring 1.9 GB for a 16-byte storage', () => {
    const t: CraftTensor[] = [{ name: 'w', key: '0', storageNumel: 4, shape: [4], stride: [1] }];
    const file = put(
      'lying.pth',
      zip([
        { name: 'archive/data.pkl', data: stateDictPickle(t) },
        { name: 'archive/data/0', data: f32([1, 2, 3, 4]), declaredSize: 1_900_000_000 },
      ]),
    );
    const rep = inChild(file, 'core.readWeights(file)');
    expect(rep).toMatchObject({ ok: false, isDpl: true });
    expect(rep.maxRssBytes).toBeLessThan(PEAK_BOUND);
  });

  it('a 16000 x 16000 PNG bomb (readImage and readInputTensor)', () => {
    const bomb = put('bomb.png', pngBomb(16000, 16000));
    expectBoundedRefusal(bomb, 'core.readImage(file)', '16000 x 16000 pixels');
    expectBoundedRefusal(bomb, 'core.readInputTensor(file)', '16000 x 16000 pixels');
  });

  it('an .npy whose header claims 20000 x 20000 images', () => {
    const file = put('claims.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 20000, 20000), }", f32([0, 0, 0])));
    expectBoundedRefusal(file, 'core.readInputTensor(file)', 'needs 4800000000 data bytes');
  });
});
