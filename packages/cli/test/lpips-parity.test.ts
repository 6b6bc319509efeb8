/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * `dpl similarity --lpips` against the lpips package's forward pass, computed in float64 by torch
 * (tools/parity/lpips_forward.py) on seeded torchvision weights and seeded lin weights written in
 * the package's file format: all three nets, both versions, with and without lin, at a small, an
 * odd and (alexnet, squeezenet) a 1024x768 size; distances and --map element-wise.
 * vgg16 at 1024x768 is left out here for time on 2 cores (docs/LPIPS.md has its figures).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOnnxRuntime, readNpy } from '@dpl/core';
import { ROOT, dpl, tmpDir } from './helpers';
import { referencePython } from '@dpl/core/testkit';

process.env.DPL_BACKEND = 'wasm';
const PY = referencePython().python;
const torch = (() => {
  try {
    execFileSync(PY, ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const ort = loadOnnxRuntime();
if (!ort.ok) console.warn(`lpips parity runs on tfjs only (no onnx cases): ${ort.reason}`);
if (!torch) console.warn(`SKIPPED lpips parity: ${PY} with torch and torchvision is not available`);
const maybe = torch ? describe : describe.skip;

const CASES: Record<string, string[]> = {
  alex: ['32x40', '37x53', '768x1024'],
  squeeze: ['32x40', '37x53', '768x1024'],
  vgg: ['32x40', '37x53'],
};
// float32 features against the float64 reference; the reductions are float64 (EngineDistance)
const DIST_RTOL = 2e-6;
const MAP_TOL = 1e-5; // of the map's maximum, per element

interface Sim {
  distance: number;
  points: string[];
  variant: string;
  lpips: { net: string; version: string; lin: boolean };
  input: { normalize: string };
  linWeights: { pretrained: boolean } | null;
  engine: { name: string };
}

const npy = (file: string) => readNpy(fs.readFileSync(file), file);

maybe.each(Object.keys(CASES))('dpl similarity --lpips --net %s equals the reference formula (float64 torch)', (net) => {
  let dir: string;
  beforeAll(() => {
    dir = tmpDir(`dpl-lpips-${net}-`);
    execFileSync(
      PY,
      [path.join(ROOT, 'tools/parity/lpips_forward.py'), '--net', net, '--out', dir, '--sizes', CASES[net].join(','), '--maps'],
      {
        stdio: 'pipe',
      },
    );
  }, 300_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const combos = CASES[net].flatMap((size) =>
    ['0.1', '0.0'].flatMap((version) => [true, false].map((lin) => ({ size, version, lin, engine: 'tfjs' }))),
  );
  // the onnx engine (when onnxruntime loads) at the largest size, v0.1 with and without lin
  if (ort.ok)
    for (const lin of [true, false]) combos.push({ size: CASES[net][CASES[net].length - 1], version: '0.1', lin, engine: 'onnx' });
  it.each(combos)(
    '$size v$version lin=$lin $engine: distance and map',
    async ({ size, version, lin, engine }) => {
      const map = path.join(dir, `dpl_map_${version}_${lin}_${size}_${engine}.npy`);
      const args = [
        'similarity',
        path.join(dir, `x0_${size}.npy`),
        path.join(dir, `x1_${size}.npy`),
        '--lpips',
        '--net',
        net,
        '--version',
        version,
      ];
      args.push(...(lin ? ['--lin-weights', path.join(dir, `lin_v${version}.pth`)] : ['--no-lin']));
      args.push('--weights', path.join(dir, 'weights.pth'), '--engine', engine, '--map', map, '--json');
      const r = await dpl(args);
      expect(r.err).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const got = r.json<Sim>();
      expect(got.engine.name).toBe(engine);
      expect(got.lpips).toEqual({ net, version, lin });
      expect(got.input.normalize).toBe(version === '0.1' ? 'lpips' : 'signed');
      expect(got.linWeights?.pretrained ?? null).toBe(lin ? false : null); // seeded lin files are not LPIPS' published ones
      const tag = lin ? 'lin' : 'base';
      const want = npy(path.join(dir, `dist_${version}_${tag}_${size}.npy`)).data[0];
      expect(Math.abs(got.distance - want)).toBeLessThanOrEqual(DIST_RTOL * want);
      const ref = npy(path.join(dir, `map_${version}_${tag}_${size}.npy`));
      const mine = npy(map);
      const [h, w] = size.split('x').map(Number);
      expect(mine.shape).toEqual([1, 1, h, w]);
      expect(ref.shape).toEqual([1, h, w]);
      let max = 0;
      let worst = 0;
      for (let i = 0; i < ref.data.length; i++) {
        max = Math.max(max, ref.data[i]);
        worst = Math.max(worst, Math.abs(mine.data[i] - ref.data[i]));
      }
      expect(worst).toBeLessThanOrEqual(MAP_TOL * max);
    },
    300_000,
  );
});
