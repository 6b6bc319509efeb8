/**
 * A set of square RGB images read on demand, batch by batch: the datasets are too big to decode
 * into float tensors at once (STL-10 unlabeled: 100k x 96 x 96 x 3 = 11 GB as float32), so a
 * loader keeps only file handles (or the 8-bit bytes) and converts one batch at a time.
 */
import { hashSeed, inputError, mulberry32, permutation } from '@dpl/core';

export interface ImageSet {
  /** What the images are, e.g. 'stl10/unlabeled (/data/stl10_binary/unlabeled_X.bin)'. */
  readonly name: string;
  readonly count: number;
  /** Side of the images `read` returns (after any padding). */
  readonly side: number;
  /** Class per image, 0-based, or null for an unlabelled set. */
  readonly labels: Int32Array | null;
  /** Images `indices` as NHWC float32 in [0, 1]: [indices.length, side, side, 3]. */
  read(indices: readonly number[]): Float32Array;
  close(): void;
}

/** The images `indices` of `set` (in that order) as a set of their own; closing it closes `set`. */
export function subset(set: ImageSet, indices: readonly number[], name = `${set.name} (${indices.length} of ${set.count})`): ImageSet {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= set.count) throw inputError(`index ${i}`, `is outside ${set.name} (0..${set.count - 1})`);
  }
  const idx = Int32Array.from(indices);
  const labels = set.labels ? Int32Array.from(idx, (i) => set.labels![i]) : null;
  return {
    name,
    count: idx.length,
    side: set.side,
    labels,
    read: (ix) =>
      set.read(
        ix.map((i) => {
          if (!Number.isInteger(i) || i < 0 || i >= idx.length) throw inputError(`index ${i}`, `is outside ${name} (0..${idx.length - 1})`);
          return idx[i];
        }),
      ),
    close: () => set.close(),
  };
}

/**
 * At most `max` images of `set`: a seeded choice (the first `max` of a permutation), sorted so
 * that reads stay in file order. Null or max >= count: the set itself.
 */
export function limit(set: ImageSet, max: number | null, seed: number, label: string): ImageSet {
  if (max === null || max >= set.count) return set;
  const chosen = permutation(set.count, mulberry32(hashSeed(seed, `limit/${label}`)))
    .slice(0, max)
    .sort((a, b) => a - b);
  return subset(set, chosen);
}

/** Number of images per class (index = class). */
export function classCounts(labels: Int32Array, numClasses: number): number[] {
  const out = new Array<number>(numClasses).fill(0);
  for (const l of labels) out[l]++;
  return out;
}
