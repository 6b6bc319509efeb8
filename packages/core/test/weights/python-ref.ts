/** Test helpers: run the reference Python (fixtures.py) and read the references it dumps. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { referencePython } from '../../src/testkit/python';

export const PYTHON = referencePython().python;
const FIXTURES = path.join(__dirname, 'fixtures.py');

/** Why the reference Python cannot be used (undefined when it can); printed by the caller. */
export function pythonMissing(modules: string): string | undefined {
  const r = spawnSync(PYTHON, ['-c', `import ${modules}`], { encoding: 'utf-8' });
  if (r.error) return `${PYTHON} not runnable (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} -c "import ${modules}" failed: ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

/** `it`, or `it.skip` with a printed reason when the reference Python lacks `modules`. */
export function itWithPython(modules: string, suite: string): { maybe: jest.It; missing?: string } {
  const missing = pythonMissing(modules);
  if (missing) console.warn(`[${suite}] skipping Python-reference tests: ${missing}`);
  return { maybe: missing ? it.skip : it, missing };
}

export function runFixtures(args: string[]): string {
  const r = spawnSync(PYTHON, [FIXTURES, ...args], { encoding: 'utf-8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`fixtures.py ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dpl-weights-${tag}-`));
}

export interface RefTensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

/** Reads `<prefix>.ref.json` + `<prefix>.ref.bin` (torch's values as float32, C order). */
export function readRef(prefix: string): Map<string, RefTensor> {
  const index = JSON.parse(fs.readFileSync(`${prefix}.ref.json`, 'utf-8')) as {
    name: string;
    dtype: string;
    shape: number[];
    offset: number;
    count: number;
  }[];
  const bin = fs.readFileSync(`${prefix}.ref.bin`);
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const out = new Map<string, RefTensor>();
  for (const e of index) {
    out.set(e.name, { dtype: e.dtype, shape: e.shape, data: all.slice(e.offset, e.offset + e.count) });
  }
  return out;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}
