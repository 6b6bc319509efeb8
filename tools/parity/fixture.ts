/**
 * Test-side access to the PyTorch reference: runs torch_features.py once per distinct request
 * and caches the result (weights, inputs, features) under tools/parity/.cache (or
 * $DPL_PARITY_CACHE), so CI generates each fixture once per run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referencePython } from '../../packages/core/src/testkit/python';

export const PYTHON = referencePython().python;
const SCRIPT = path.join(__dirname, 'torch_features.py');
const CACHE = process.env.DPL_PARITY_CACHE ?? path.join(__dirname, '.cache');

let torchStatus: { ok: boolean; reason: string } | undefined;

/** Whether the reference (system python3 with torch + torchvision) is usable, and why not. */
export function torchAvailable(): { ok: boolean; reason: string } {
  if (!torchStatus) {
    const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision; print(torch.__version__, torchvision.__version__)'], {
      encoding: 'utf8',
    });
    torchStatus =
      r.status === 0
        ? { ok: true, reason: `torch ${r.stdout.trim()}` }
        : {
            ok: false,
            reason: `${PYTHON} cannot import torch/torchvision (${(r.stderr || String(r.error)).trim().split('\n').pop()}); install python3-torch python3-torchvision`,
          };
  }
  return torchStatus;
}

export interface FixtureRequest {
  model: string;
  indices: number[];
  sizes: [number, number][];
  seed?: number;
  batch?: number;
  legacy?: boolean;
  /** state_dict prefixes to leave out of the checkpoint (default: the big classifier heads). */
  dropPrefixes?: string[];
}

export interface Fixture {
  dir: string;
  weights: string;
  input(h: number, w: number): string;
  feature(h: number, w: number, index: number): string;
}

export function torchFixture(req: FixtureRequest): Fixture {
  const full = { seed: 0, batch: 2, legacy: false, dropPrefixes: ['classifier.', 'fc.'], ...req };
  const key = crypto.createHash('sha1').update(JSON.stringify(full)).digest('hex').slice(0, 12);
  const dir = path.join(CACHE, `${full.model}-${key}`);
  if (!fs.existsSync(path.join(dir, 'done'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    const args = [
      SCRIPT,
      '--model',
      full.model,
      '--indices',
      full.indices.join(','),
      '--sizes',
      full.sizes.map(([h, w]) => `${h}x${w}`).join(','),
      '--out',
      dir,
      '--seed',
      String(full.seed),
      '--batch',
      String(full.batch),
      ...(full.legacy ? ['--legacy'] : []),
      '--drop-prefixes',
      full.dropPrefixes.join(','),
    ];
    execFileSync(PYTHON, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    fs.writeFileSync(path.join(dir, 'done'), JSON.stringify(full));
  }
  return {
    dir,
    weights: path.join(dir, 'weights.pth'),
    input: (h, w) => path.join(dir, `input_${h}x${w}.npy`),
    feature: (h, w, i) => path.join(dir, `feat_${h}x${w}_${i}.npy`),
  };
}

/** max |a - b| relative to max |b|: the parity criterion (<= 1e-4). */
export function relativeMaxError(ours: Float32Array, ref: Float32Array): { maxAbs: number; maxRef: number; rel: number } {
  if (ours.length !== ref.length) throw new Error(`length ${ours.length} != ${ref.length}`);
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    if (!(d <= maxAbs)) maxAbs = d; // NaN propagates
    const r = Math.abs(ref[i]);
    if (r > maxRef) maxRef = r;
  }
  return { maxAbs, maxRef, rel: maxAbs / (maxRef || 1) };
}
