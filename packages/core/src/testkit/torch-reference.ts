/**
 * Test-side access to the PyTorch reference: runs the repository's tools/parity/torch_features.py
 * once per distinct request and caches the result (weights, inputs, features) under
 * tools/parity/.cache (or $DPL_PARITY_CACHE), so CI generates each fixture once per run.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referencePython } from './python';

/** The reference script (src/testkit and dist/testkit sit at the same depth below the repository root). */
const SCRIPT = process.env.DPL_PARITY_SCRIPT ?? path.resolve(__dirname, '../../../../tools/parity/torch_features.py');
const CACHE = process.env.DPL_PARITY_CACHE ?? path.join(path.dirname(SCRIPT), '.cache');

/** Whether the reference (the script, and a python with torch + torchvision) is usable, and why not. */
export function torchAvailable(): { ok: boolean; reason: string } {
  if (!fs.existsSync(SCRIPT))
    return { ok: false, reason: `no reference script at ${SCRIPT} (set DPL_PARITY_SCRIPT to dpl's tools/parity/torch_features.py)` };
  const { ok, reason } = referencePython();
  return { ok, reason };
}

export interface FixtureRequest {
  /** The torchvision model builder's name. */
  model: string;
  /** The study's module indices to save features at (or give `modules`). */
  indices?: number[];
  /** torchvision module names (ExtractionPoint.torchModule) to save features at, through forward hooks. */
  modules?: string[];
  /** Layout of 4-D module outputs: 'nhwc' for Swin (default 'nchw'); 3-D outputs are ViT token rows. */
  layout?: 'nchw' | 'nhwc';
  sizes: [number, number][];
  seed?: number;
  batch?: number;
  /** Write the checkpoint in the pre-1.6 (non-zip) format. */
  legacy?: boolean;
  /** state_dict prefixes to leave out of the checkpoint (default: the big classifier heads). */
  dropPrefixes?: string[];
}

export interface Fixture {
  dir: string;
  weights: string;
  input(h: number, w: number): string;
  /** The reference at a study index or a torchvision module name. */
  feature(h: number, w: number, point: number | string): string;
}

/** The reference for `req`, generated on first use (seeded random weights, randomised BatchNorm statistics). */
export function torchFixture(req: FixtureRequest): Fixture {
  // keys left undefined take the defaults (the cache key is this object's JSON)
  const given = Object.fromEntries(Object.entries(req).filter(([, v]) => v !== undefined)) as FixtureRequest;
  const full = { seed: 0, batch: 2, legacy: false, dropPrefixes: ['classifier.', 'fc.'], indices: [] as number[], ...given };
  const key = crypto.createHash('sha1').update(JSON.stringify(full)).digest('hex').slice(0, 12);
  const dir = path.join(CACHE, `${full.model}-${key}`);
  if (!fs.existsSync(path.join(dir, 'done'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    const args = [
      SCRIPT,
      '--model',
      full.model,
      ...(full.indices.length ? ['--indices', full.indices.join(',')] : []),
      ...(full.modules?.length ? ['--modules', full.modules.join(','), '--layout', full.layout ?? 'nchw'] : []),
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
    execFileSync(referencePython().python, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    fs.writeFileSync(path.join(dir, 'done'), JSON.stringify(full));
  }
  return {
    dir,
    weights: path.join(dir, 'weights.pth'),
    input: (h, w) => path.join(dir, `input_${h}x${w}.npy`),
    feature: (h, w, p) => path.join(dir, `feat_${h}x${w}_${p}.npy`),
  };
}

/**
 * The fixture's checkpoint also as a pre-1.6 (non-zip) .pth and as .safetensors, written once
 * beside it by tools/parity/write_safetensors.py's writer.
 */
export function fixtureFormats(fx: Fixture): { legacy: string; safetensors: string } {
  const legacy = path.join(fx.dir, 'weights_legacy.pth');
  const safetensors = path.join(fx.dir, 'weights.safetensors');
  if (!fs.existsSync(legacy) || !fs.existsSync(safetensors)) {
    const code = [
      'import sys, torch',
      `sys.path.insert(0, ${JSON.stringify(path.dirname(SCRIPT))})`,
      'from write_safetensors import write_safetensors',
      'sd = torch.load(sys.argv[1])',
      'write_safetensors(sys.argv[3] + ".part", sd)',
      'torch.save(sd, sys.argv[2] + ".part", _use_new_zipfile_serialization=False)',
    ].join('\n');
    execFileSync(referencePython().python, ['-c', code, fx.weights, legacy, safetensors], { stdio: ['ignore', 'pipe', 'inherit'] });
    fs.renameSync(`${safetensors}.part`, safetensors);
    fs.renameSync(`${legacy}.part`, legacy);
  }
  return { legacy, safetensors };
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
