/**
 * The on-disk dataset: an image folder per split,
 *   <root>/train/*.{jpg,png,...}     the pool the training images are chosen from (COCO-2014 train)
 *   <root>/val/*                     the pool of validation images (optional; else the rest of train)
 *   <root>/test/{Set5,Set14,BSD100}/* the test sets
 * and the seeded choice of `trainImages` / `valImages` from the pools (the study: 10,000 and 100,
 * seed 42). Files are listed in sorted order before the seeded permutation, so the choice depends
 * only on the file names, the counts and the seed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configError, hashSeed, inputError, mulberry32, permutation, readImage, type Image8 } from '@dpl/core';
import type { TestSetName } from '../config';
import { degrade, type DegradeOptions, type SrPair } from './degrade';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp'];

const isImageFile = (name: string) => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase()) && !name.startsWith('.');

/** Image files directly in `dir`, sorted by name; throws naming the folder when it is missing or has none. */
export function listImages(dir: string, what: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    throw inputError(
      dir,
      `(${what}) does not exist or is not a readable folder`,
      'lay the data out as <root>/train/*.jpg, <root>/val/*.jpg (optional) and <root>/test/{Set5,Set14,BSD100}/*.png',
    );
  }
  const files = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && isImageFile(e.name))
    .map((e) => e.name)
    .sort();
  if (files.length === 0) throw inputError(dir, `(${what}) has no image files`, `put ${IMAGE_EXTENSIONS.join(' / ')} files in it`);
  return files.map((f) => path.join(dir, f));
}

/** `count` of `files` chosen by a permutation seeded from (seed, tag), returned in sorted order. */
export function selectImages(files: readonly string[], count: number, seed: number, tag: string, folder: string, key: string): string[] {
  if (count > files.length) {
    throw configError(
      `config key '${key}'`,
      `asks for ${count} images but ${folder} has ${files.length}`,
      `use ${key} <= ${files.length} or add images`,
    );
  }
  const order = permutation(files.length, mulberry32(hashSeed(seed, tag)));
  return order
    .slice(0, count)
    .sort((a, b) => a - b)
    .map((i) => files[i]);
}

export interface SrFiles {
  train: string[];
  val: string[];
  /** Where the validation images came from: the val folder, or the train pool (disjoint from train). */
  valSource: 'val' | 'train';
  test: Partial<Record<TestSetName, string[]>>;
}

export interface SelectionOptions {
  trainImages: number;
  valImages: number;
  selectionSeed: number;
  testSets: readonly TestSetName[];
  maxTestImages: number | null;
}

/** Lists and chooses every split's files; all folder problems surface here, before any training. */
export function selectFiles(root: string, o: SelectionOptions): SrFiles {
  if (!fs.existsSync(root)) throw inputError(root, 'does not exist', 'pass the dataset root (or omit it for the synthetic stand-in)');
  const trainDir = path.join(root, 'train');
  const pool = listImages(trainDir, 'training images');
  const valDir = path.join(root, 'val');
  let train: string[], val: string[], valSource: SrFiles['valSource'];
  if (fs.existsSync(valDir)) {
    train = selectImages(pool, o.trainImages, o.selectionSeed, 'train', trainDir, 'trainImages');
    val = selectImages(listImages(valDir, 'validation images'), o.valImages, o.selectionSeed, 'val', valDir, 'valImages');
    valSource = 'val';
  } else {
    // one permutation of the pool: the first trainImages train, the next valImages validate
    const need = o.trainImages + o.valImages;
    if (need > pool.length) {
      throw configError(
        `config keys 'trainImages' + 'valImages'`,
        `ask for ${need} images but ${trainDir} has ${pool.length} (and there is no ${valDir})`,
        `lower them or add a val folder`,
      );
    }
    const order = permutation(pool.length, mulberry32(hashSeed(o.selectionSeed, 'train')));
    const pickSorted = (ix: number[]) => ix.sort((a, b) => a - b).map((i) => pool[i]);
    train = pickSorted(order.slice(0, o.trainImages));
    val = pickSorted(order.slice(o.trainImages, need));
    valSource = 'train';
  }
  const test: SrFiles['test'] = {};
  for (const set of o.testSets) {
    const files = listImages(path.join(root, 'test', set), `test set ${set}`);
    test[set] = o.maxTestImages === null ? files : files.slice(0, o.maxTestImages);
  }
  return { train, val, valSource, test };
}

/** Decodes an image file to 8-bit RGB (core's readImage gives v/255 floats; round(v*255) restores the byte exactly). */
export async function readImage8(file: string): Promise<Image8> {
  const img = await readImage(file);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(img.data[i] * 255);
  return { width: img.width, height: img.height, channels: 3, data };
}

/**
 * HR/LR pairs of a list of files, decoded and degraded on first use and kept in memory up to
 * `cacheBytes`; past that they are decoded again each time (the result is the same: there is no
 * random augmentation).
 */
export class PairSource {
  private readonly cache = new Map<number, SrPair>();
  private cached = 0;

  constructor(
    readonly files: readonly string[],
    private readonly opts: DegradeOptions,
    private readonly cacheBytes: number,
  ) {}

  get length(): number {
    return this.files.length;
  }

  async get(i: number): Promise<SrPair> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const pair = degrade(await readImage8(this.files[i]), this.opts);
    const bytes = pair.hr.data.length + pair.lr.data.length;
    if (this.cached + bytes <= this.cacheBytes) {
      this.cache.set(i, pair);
      this.cached += bytes;
    }
    return pair;
  }

  async getMany(indices: readonly number[]): Promise<SrPair[]> {
    const out: SrPair[] = [];
    for (const i of indices) out.push(await this.get(i));
    return out;
  }
}
