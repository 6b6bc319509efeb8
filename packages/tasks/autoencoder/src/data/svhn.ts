/**
 * SVHN cropped digits (train_32x32.mat, test_32x32.mat, extra_32x32.mat): MAT-files with X, a
 * 32 x 32 x 3 x N uint8 array (column-major, so image n is 3072 contiguous bytes: channel planes,
 * each stored column by column), and y, N x 1 labels 1..10 where 10 stands for the digit 0.
 * The study reflect-pads each image by 16 pixels to 64 x 64 (docs/PROTOCOL.md section 6; reflect
 * without repeating the edge, as torchvision's Pad(padding_mode='reflect')).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inputError } from '@dpl/core';
import type { ImageSet } from './image-set';
import { findVariable, openVariableBytes, readMatFile, readNumeric } from './mat';

export type SvhnSplit = 'train' | 'test' | 'extra';
export const SVHN_FILES: Record<SvhnSplit, string> = { train: 'train_32x32.mat', test: 'test_32x32.mat', extra: 'extra_32x32.mat' };
export const SVHN_PAD = 16;

/** Source index of output index i along an axis of length n padded by p each side (reflect, no edge repeat). */
export function reflectIndex(i: number, n: number, p: number): number {
  let j = i - p;
  if (j < 0) j = -j;
  if (j >= n) j = 2 * (n - 1) - j;
  return j;
}

/** SVHN labels (1..10, 10 = digit 0) as 0..9; throws naming the file on anything else. */
export function svhnLabels(values: Float64Array, file: string): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 1 || v > 10)
      throw inputError(
        file,
        `label y(${i + 1}) is ${v}; SVHN labels are 1..10 (10 = digit 0)`,
        'check that this is an SVHN *_32x32.mat file',
      );
    out[i] = v === 10 ? 0 : v;
  }
  return out;
}

export interface SvhnOptions {
  /** Reflect padding per side (study: 16, giving 64 x 64). */
  pad?: number;
  /** Where a compressed X is inflated once (else into memory). */
  cacheDir?: string;
}

/** Opens one SVHN .mat file as an ImageSet of reflect-padded images. */
export async function openSvhnFile(file: string, o: SvhnOptions = {}, name = file): Promise<ImageSet> {
  if (!fs.existsSync(file))
    throw inputError(file, 'does not exist (SVHN)', `put the SVHN files (${Object.values(SVHN_FILES).join(', ')}) in the data folder`);
  const pad = o.pad ?? SVHN_PAD;
  const mat = readMatFile(file);
  const X = findVariable(mat, 'X', 'use an SVHN *_32x32.mat file (variables X and y)');
  const Y = findVariable(mat, 'y', 'use an SVHN *_32x32.mat file (variables X and y)');
  if (X.className !== 'uint8' || X.storedType !== 'uint8' || X.complex) {
    throw inputError(
      file,
      `variable 'X' is ${X.complex ? 'complex ' : ''}${X.className} (stored as ${X.storedType || 'nothing'}); SVHN images are uint8`,
      'use the original SVHN files, or save X as uint8',
    );
  }
  // MATLAB drops a trailing singleton dimension: one image is 32 x 32 x 3
  const dims = X.dims.length === 3 ? [...X.dims, 1] : X.dims;
  const [h, w, c, n] = dims;
  if (dims.length !== 4 || c !== 3 || h !== w || h < 2) {
    throw inputError(
      file,
      `variable 'X' has dimensions ${X.dims.join(' x ')}; SVHN's are H x W x 3 x N with H = W (32)`,
      'use an SVHN *_32x32.mat file',
    );
  }
  if (pad < 0 || pad >= h) throw inputError(`padding ${pad}`, `must be in [0, ${h - 1}] for reflect padding of ${h}x${h} images`);
  const per = h * w * 3;
  if (X.dataBytes !== per * n)
    throw inputError(
      file,
      `variable 'X' holds ${X.dataBytes} bytes, its dimensions need ${per * n}`,
      'the file is damaged: download it again',
    );
  const labelValues = await readNumeric(mat, Y);
  if (labelValues.length !== n)
    throw inputError(file, `has ${n} images in X but ${labelValues.length} labels in y`, 'use a complete SVHN file');
  const labels = svhnLabels(labelValues, file);
  const bytes = await openVariableBytes(mat, X, o.cacheDir);
  const side = h + 2 * pad;
  // output pixel (r, c) reads source (src[r], src[c])
  const src = Int32Array.from({ length: side }, (_, i) => reflectIndex(i, h, pad));
  const raw = Buffer.alloc(per);
  const plane = h * w;
  const outPer = side * side * 3;
  return {
    name,
    count: n,
    side,
    labels,
    read(indices) {
      const out = new Float32Array(indices.length * outPer);
      indices.forEach((idx, b) => {
        if (!Number.isInteger(idx) || idx < 0 || idx >= n) throw inputError(`image ${idx}`, `is outside ${file} (${n} images)`);
        bytes.read(idx * per, per, raw);
        const base = b * outPer;
        for (let r = 0; r < side; r++) {
          const sr = src[r];
          for (let col = 0; col < side; col++) {
            const s = src[col] * h + sr; // column-major within a plane
            const o = base + (r * side + col) * 3;
            out[o] = raw[s] / 255;
            out[o + 1] = raw[plane + s] / 255;
            out[o + 2] = raw[2 * plane + s] / 255;
          }
        }
      });
      return out;
    },
    close: () => bytes.close(),
  };
}

/** Opens one SVHN split under `root`. */
export function openSvhn(root: string, split: SvhnSplit, o: SvhnOptions = {}): Promise<ImageSet> {
  const file = path.join(root, SVHN_FILES[split]);
  return openSvhnFile(file, o, `svhn/${split} (${file})`);
}

/** Whether `root` looks like an SVHN folder. */
export function hasSvhn(root: string): boolean {
  return Object.values(SVHN_FILES).some((f) => fs.existsSync(path.join(root, f)));
}
