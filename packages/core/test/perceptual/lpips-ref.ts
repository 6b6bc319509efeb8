/**
 * Test-side access to tools/parity/lpips_ref.py (an independent PyTorch implementation of the
 * LPIPS formula): runs it once for all requested models and caches the outputs under
 * tools/parity/.cache (or $DPL_PARITY_CACHE), keyed by the request and the script's content.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readNpy, type NpyArray } from '../../src/weights/npy';
import { PYTHON } from '../../../../tools/parity/fixture';

const SCRIPT = path.join(__dirname, '../../../../tools/parity/lpips_ref.py');
const CACHE = process.env.DPL_PARITY_CACHE ?? path.join(__dirname, '../../../../tools/parity/.cache');

export interface LpipsRefRequest {
  models: string[];
  seed: number;
  batch: number;
  inSize: [number, number];
  size: number;
}

export interface LpipsRef {
  dir: string;
  file(name: string): string;
  npy(name: string): NpyArray;
  /** An NCHW .npy as an NHWC tensor. */
  nhwc(name: string): tf.Tensor4D;
}

export function lpipsRef(req: LpipsRefRequest): (model: string) => LpipsRef {
  const script = fs.readFileSync(SCRIPT);
  const key = crypto.createHash('sha1').update(JSON.stringify(req)).update(script).digest('hex').slice(0, 12);
  const root = path.join(CACHE, `lpips-${key}`);
  if (!fs.existsSync(path.join(root, 'done'))) {
    fs.rmSync(root, { recursive: true, force: true });
    execFileSync(
      PYTHON,
      [
        SCRIPT,
        '--models',
        req.models.join(','),
        '--out',
        root,
        '--seed',
        String(req.seed),
        '--batch',
        String(req.batch),
        '--in-size',
        `${req.inSize[0]}x${req.inSize[1]}`,
        '--size',
        String(req.size),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    fs.writeFileSync(path.join(root, 'done'), JSON.stringify(req));
  }
  return (model) => {
    const dir = path.join(root, model);
    const file = (name: string) => path.join(dir, name);
    const npy = (name: string) => readNpy(fs.readFileSync(file(name)), name);
    return {
      dir,
      file,
      npy,
      nhwc: (name) => {
        const a = npy(name);
        return tf.tidy(() => tf.transpose(tf.tensor4d(a.data, a.shape as [number, number, number, number]), [0, 2, 3, 1]));
      },
    };
  };
}
