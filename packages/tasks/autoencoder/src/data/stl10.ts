/**
 * STL-10 binary files (stl10_binary.tar.gz): `<split>_X.bin` holds uint8 images one after the
 * other, each 3 x 96 x 96 in MATLAB's column-major order: the red plane, then green, then blue,
 * each plane stored column by column, so byte c*96*96 + col*96 + row is pixel (row, col) of
 * channel c. `<split>_y.bin` holds one uint8 label per image, 1..10 (mapped to 0..9 here).
 * Splits: unlabeled (100k, no labels), train (5k), test (8k).
 *
 * Images are read with positioned reads per batch, never all at once. The side is a parameter
 * (96 for STL-10) because the synthetic stand-in is written in the same layout at other sizes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inputError } from '@dpl/core';
import type { ImageSet } from './image-set';

export type Stl10Split = 'unlabeled' | 'train' | 'test';
export const STL10_SIDE = 96;
export const STL10_FILES: Record<Stl10Split, { images: string; labels: string | null }> = {
  unlabeled: { images: 'unlabeled_X.bin', labels: null },
  train: { images: 'train_X.bin', labels: 'train_y.bin' },
  test: { images: 'test_X.bin', labels: 'test_y.bin' },
};

/** The folder holding the .bin files: `root` itself or `root`/stl10_binary (the archive's folder). */
export function stl10Dir(root: string): string {
  const nested = path.join(root, 'stl10_binary');
  return fs.existsSync(path.join(root, STL10_FILES.train.images)) || !fs.existsSync(nested) ? root : nested;
}

function fileSize(file: string, what: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    throw inputError(
      file,
      `does not exist (STL-10 ${what})`,
      `put the STL-10 binary files (${Object.values(STL10_FILES)
        .flatMap((f) => [f.images, f.labels])
        .filter(Boolean)
        .join(', ')}) in the data folder`,
    );
  }
}

/** Labels 1..10 of an STL-10 `_y.bin` file as 0..9. */
export function readStl10Labels(file: string, expectedCount?: number): Int32Array {
  fileSize(file, 'labels');
  const raw = fs.readFileSync(file);
  if (expectedCount !== undefined && raw.length !== expectedCount) {
    throw inputError(
      file,
      `holds ${raw.length} labels but its image file holds ${expectedCount} images`,
      'use the _X.bin and _y.bin files of the same split, complete',
    );
  }
  const out = new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (v < 1 || v > 10)
      throw inputError(file, `label ${i} is ${v}; STL-10 labels are bytes 1..10`, 'check that this is an STL-10 _y.bin file');
    out[i] = v - 1;
  }
  return out;
}

/** Opens an STL-10-layout image file (and its labels) as an ImageSet. */
export function openStl10File(imagesFile: string, labelsFile: string | null, side = STL10_SIDE, name?: string): ImageSet {
  const per = 3 * side * side;
  const size = fileSize(imagesFile, 'images');
  if (size === 0 || size % per !== 0) {
    throw inputError(
      imagesFile,
      `is ${size} bytes, not a whole number of ${side}x${side}x3 uint8 images (${per} bytes each)`,
      side === STL10_SIDE
        ? 'use an STL-10 binary file (stl10_binary.tar.gz), complete'
        : `write ${side}x${side} images in the STL-10 layout`,
    );
  }
  const count = size / per;
  const labels = labelsFile ? readStl10Labels(labelsFile, count) : null;
  let fd: number | null = fs.openSync(imagesFile, 'r');
  const raw = Buffer.alloc(per);
  const plane = side * side;
  return {
    name: name ?? imagesFile,
    count,
    side,
    labels,
    read(indices) {
      if (fd === null) throw inputError(imagesFile, 'was closed', 'open the data set again');
      const out = new Float32Array(indices.length * per);
      indices.forEach((idx, b) => {
        if (!Number.isInteger(idx) || idx < 0 || idx >= count)
          throw inputError(`image ${idx}`, `is outside ${imagesFile} (${count} images)`);
        const got = fs.readSync(fd!, raw, 0, per, idx * per);
        if (got !== per)
          throw inputError(imagesFile, `ended inside image ${idx} (read ${got} of ${per} bytes)`, 'the file changed or is truncated');
        const base = b * per;
        for (let c = 0; c < 3; c++) {
          for (let col = 0; col < side; col++) {
            const src = c * plane + col * side;
            for (let row = 0; row < side; row++) out[base + (row * side + col) * 3 + c] = raw[src + row] / 255;
          }
        }
      });
      return out;
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}

/** Opens one STL-10 split under `root` (or `root`/stl10_binary). */
export function openStl10(root: string, split: Stl10Split, side = STL10_SIDE): ImageSet {
  const dir = stl10Dir(root);
  const f = STL10_FILES[split];
  const images = path.join(dir, f.images);
  return openStl10File(images, f.labels && path.join(dir, f.labels), side, `stl10/${split} (${images})`);
}

/** Whether `root` looks like an STL-10 folder. */
export function hasStl10(root: string): boolean {
  const dir = stl10Dir(root);
  return fs.existsSync(path.join(dir, STL10_FILES.train.images)) || fs.existsSync(path.join(dir, STL10_FILES.unlabeled.images));
}

/** HWC uint8 images (each side x side x 3) in the STL-10 layout, for writing a .bin file. */
export function toStl10Layout(hwc: Uint8Array, side: number): Uint8Array {
  const per = 3 * side * side;
  if (hwc.length % per !== 0) throw inputError('images', `hold ${hwc.length} bytes, not a multiple of ${per}`);
  const out = new Uint8Array(hwc.length);
  for (let base = 0; base < hwc.length; base += per) {
    for (let row = 0; row < side; row++) {
      for (let col = 0; col < side; col++) {
        for (let c = 0; c < 3; c++) out[base + c * side * side + col * side + row] = hwc[base + (row * side + col) * 3 + c];
      }
    }
  }
  return out;
}
