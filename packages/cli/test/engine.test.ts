/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * --engine on `dpl features` and `dpl similarity`: onnx and tfjs give the same numbers (1e-4
 * relative), results record the engine, the exported model is cached under $DPL_HOME/onnx and
 * reused, and without onnxruntime auto falls back to tfjs with one notice line while onnx fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOnnxRuntime, readNpy } from '@dpl/core';
import { dpl, png, tmpDir } from './helpers';

process.env.DPL_BACKEND = 'wasm';
const ort = loadOnnxRuntime();
if (!ort.ok) console.warn(`SKIPPED cli onnx engine tests: ${ort.reason}`);
const maybe = ort.ok ? it : it.skip;

const relErr = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
};

interface Sim {
  distance: number;
  engine: { name: string; notice: string | null; model?: string; reused?: boolean; threads?: number };
}

let dir: string;
let a: string;
let b: string;
const savedHome = process.env.DPL_HOME;
beforeAll(async () => {
  dir = tmpDir('dpl-engine-cli-');
  process.env.DPL_HOME = path.join(dir, 'home');
  a = await png(path.join(dir, 'a.png'), 48, 44, 1);
  b = await png(path.join(dir, 'b.png'), 48, 44, 2);
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.DPL_HOME;
  else process.env.DPL_HOME = savedHome;
});

const NET = ['--backbone', 'squeezenet1_1', '--seed', '0'];

maybe('features: onnx writes what tfjs writes, records the engine, and caches the model in $DPL_HOME/onnx', async () => {
  const run = (engine: string) =>
    dpl(['features', ...NET, '--input', a, '--points', 'paper', '--out', path.join(dir, `f-${engine}`), '--engine', engine]);
  const [on, tj] = [await run('onnx'), await run('tfjs')];
  expect(on.code).toBe(0);
  expect(tj.code).toBe(0);
  expect(on.out).toMatch(/squeezenet1_1 on onnx: 4 points/);
  expect(tj.out).toMatch(/squeezenet1_1 on tfjs-wasm: 4 points/);
  for (const p of ['relu1', 'fire2', 'fire5', 'fire9']) {
    const x = readNpy(fs.readFileSync(path.join(dir, 'f-onnx', `${p}.npy`)), p);
    const y = readNpy(fs.readFileSync(path.join(dir, 'f-tfjs', `${p}.npy`)), p);
    expect(x.shape).toEqual(y.shape);
    expect(relErr(x.data, y.data)).toBeLessThanOrEqual(1e-4);
  }
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'f-onnx', 'features.json'), 'utf8'));
  expect(meta.engine).toMatchObject({ name: 'onnx', notice: null, reused: false });
  expect(path.dirname(meta.engine.model)).toBe(path.join(dir, 'home', 'onnx'));
  const again = await run('onnx');
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'f-onnx', 'features.json'), 'utf8')).engine).toMatchObject({
    reused: true,
    model: meta.engine.model,
  });
  expect(again.err).toBe('');
});

maybe('similarity: auto takes onnx; distances equal the tfjs engine within 1e-4', async () => {
  const auto = await dpl(['similarity', a, b, ...NET, '--json']);
  expect(auto.code).toBe(0);
  const s = auto.json<Sim>();
  expect(s.engine.name).toBe('onnx');
  const t = (await dpl(['similarity', a, b, ...NET, '--json', '--engine', 'tfjs'])).json<Sim>();
  expect(t.engine).toEqual({ name: 'tfjs', notice: null });
  expect(Math.abs(s.distance - t.distance)).toBeLessThanOrEqual(1e-4 * t.distance);
  const text = await dpl(['similarity', a, b, ...NET, '--engine', 'onnx']);
  expect(text.out).toMatch(/imagenet input, onnx\)/);
  // folders go through the same engine
  const d0 = path.join(dir, 'd0');
  const d1 = path.join(dir, 'd1');
  fs.mkdirSync(d0);
  fs.mkdirSync(d1);
  fs.copyFileSync(a, path.join(d0, 'x.png'));
  fs.copyFileSync(b, path.join(d1, 'x.png'));
  const folders = await dpl(['similarity', '--dir0', d0, '--dir1', d1, ...NET, '--json']);
  // progress lines come first on a non-TTY
  const json = JSON.parse(folders.out.slice(folders.out.indexOf('\n{') + 1)) as { pairs: { distance: number }[]; engine: { name: string } };
  expect(json).toMatchObject({ engine: { name: 'onnx' }, pairs: [{ distance: s.distance }] });
});

it('--engine with an unknown value fails naming the choices', async () => {
  const r = await dpl(['similarity', a, b, ...NET, '--engine', 'fast']);
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/--engine "fast": is not an inference engine[\s\S]*auto, tfjs, onnx/);
});

it('without onnxruntime: auto falls back to tfjs with one notice line; --engine onnx fails', async () => {
  process.env.DPL_NO_ONNX = '1';
  try {
    const r = await dpl(['similarity', a, b, ...NET, '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('engine: tfjs (onnxruntime unavailable: disabled by DPL_NO_ONNX=1)');
    expect(r.json<Sim>().engine.name).toBe('tfjs');
    const f = await dpl(['features', ...NET, '--input', a, '--points', 'relu1', '--out', path.join(dir, 'f-no'), '--engine', 'onnx']);
    expect(f.code).toBe(1);
    expect(f.err).toMatch(/engine onnx is not available: disabled by DPL_NO_ONNX=1[\s\S]*--engine tfjs/);
  } finally {
    delete process.env.DPL_NO_ONNX;
  }
});
