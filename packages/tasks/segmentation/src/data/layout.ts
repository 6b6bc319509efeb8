/**
 * Where the image/mask pairs of a Massachusetts Roads split are on disk. Accepted layouts, for
 * split folder names train | valid (or val, validation) | test:
 *   - `<root>/<split>/{images,masks}/<name>.<ext>`   (the layout our synthetic generator writes)
 *   - `<root>/<split>/{sat,map}/<name>.<ext>`        (Mnih's original download, mass_roads/)
 *   - `<root>/<split>/{input,output}/<name>.<ext>`   (the study's code: datasets/MRD/)
 *   - `<root>/<split>/<name>.<ext>` + `<root>/<split>_labels/<name>.<ext>`  (the Kaggle copy, tiff/ or png/)
 * An image and its mask share the file name without extension (Mnih's `10078660_15.tiff` pairs
 * with the map `10078660_15.tif`). Extensions: .tif, .tiff, .png, .jpg, .jpeg (sharp decodes them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inputError } from '@dpl/core';

export type RoadSplitName = 'train' | 'valid' | 'test';
export const ROAD_SPLITS: readonly RoadSplitName[] = ['train', 'valid', 'test'];

/** Folder names accepted for each split, in the order they are tried. */
export const SPLIT_DIRS: Record<RoadSplitName, readonly string[]> = {
  train: ['train', 'training'],
  valid: ['valid', 'val', 'validation'],
  test: ['test', 'testing'],
};

/** Image / mask subfolder pairs inside a split folder. */
export const SUBFOLDER_PAIRS: readonly (readonly [string, string])[] = [
  ['images', 'masks'],
  ['sat', 'map'],
  ['input', 'output'],
];

export const IMAGE_EXTS: readonly string[] = ['.tif', '.tiff', '.png', '.jpg', '.jpeg'];

export interface RoadPair {
  /** File name without extension, shared by image and mask. */
  name: string;
  image: string;
  mask: string;
}

export interface RoadSplit {
  split: RoadSplitName;
  /** Which layout was found, e.g. 'valid/{images,masks}' or 'test + test_labels'. */
  layout: string;
  imageDir: string;
  maskDir: string;
  /** Sorted by name. */
  pairs: RoadPair[];
}

const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Image files of a folder by name without extension; two files with one name is an error. */
function imagesByName(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(dir).sort()) {
    const ext = path.extname(f).toLowerCase();
    if (!IMAGE_EXTS.includes(ext) || f.startsWith('.')) continue;
    const name = f.slice(0, -ext.length);
    const prev = out.get(name);
    if (prev)
      throw inputError(path.join(dir, f), `has the same name as ${prev} (without extension)`, 'keep one file per tile name in each folder');
    out.set(name, path.join(dir, f));
  }
  return out;
}

/** The image and mask folders of a split, or null when no accepted layout is there. */
function findDirs(root: string, split: RoadSplitName): { imageDir: string; maskDir: string; layout: string } | null {
  for (const d of SPLIT_DIRS[split]) {
    const splitDir = path.join(root, d);
    for (const [img, msk] of SUBFOLDER_PAIRS) {
      if (isDir(path.join(splitDir, img)) && isDir(path.join(splitDir, msk))) {
        return { imageDir: path.join(splitDir, img), maskDir: path.join(splitDir, msk), layout: `${d}/{${img},${msk}}` };
      }
    }
    if (isDir(splitDir) && isDir(`${splitDir}_labels`)) {
      return { imageDir: splitDir, maskDir: `${splitDir}_labels`, layout: `${d} + ${d}_labels` };
    }
  }
  return null;
}

/** What findDirs looks for, for error messages. */
function accepted(split: RoadSplitName): string {
  const d = SPLIT_DIRS[split];
  const sub = SUBFOLDER_PAIRS.map(([a, b]) => `{${a},${b}}`).join(' or ');
  return `<root>/${d.join('|')}/${sub}, or <root>/${d[0]} + <root>/${d[0]}_labels`;
}

/**
 * Lists the image/mask pairs of one split. Throws naming the file for an image without a mask (or
 * a mask without an image), and names the folders for a missing or empty split.
 */
export function openRoadSplit(root: string, split: RoadSplitName): RoadSplit {
  if (!isDir(root))
    throw inputError(
      `data root ${root}`,
      'is not a folder',
      'pass the folder that holds the train, valid and test splits of Massachusetts Roads',
    );
  const dirs = findDirs(root, split);
  if (!dirs) {
    throw inputError(`data root ${root}`, `has no ${split} split`, `lay it out as ${accepted(split)} (image and mask files share a name)`);
  }
  const images = imagesByName(dirs.imageDir);
  const masks = imagesByName(dirs.maskDir);
  const pairs: RoadPair[] = [];
  for (const [name, image] of images) {
    const mask = masks.get(name);
    if (!mask) {
      throw inputError(`image ${image}`, `has no mask in ${dirs.maskDir}`, `add ${name}.tif (or .png) there, or remove the image`);
    }
    pairs.push({ name, image, mask });
  }
  for (const [name, mask] of masks) {
    if (!images.has(name))
      throw inputError(`mask ${mask}`, `has no image in ${dirs.imageDir}`, `add ${name}.tiff (or .png) there, or remove the mask`);
  }
  if (pairs.length === 0) {
    throw inputError(`${split} split ${dirs.imageDir}`, `is empty (no ${IMAGE_EXTS.join('/')} files)`, `put the ${split} tiles there`);
  }
  return { split, layout: dirs.layout, imageDir: dirs.imageDir, maskDir: dirs.maskDir, pairs };
}
