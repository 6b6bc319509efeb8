/**
 * Seeded example order: per-epoch shuffles, batches and train/validation splits. Everything is
 * computed in plain JS from util/random, so the same seed gives the same order on any backend
 * and machine.
 */
import { configError } from '../errors';
import { hashSeed, mulberry32, permutation } from '../util/random';

function checkCount(what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min) throw configError(what, `must be an integer >= ${min}, got ${n}`);
}

/** The order of examples 0..n-1 in epoch `epoch`: its own permutation per (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  checkCount('number of examples', n, 0);
  checkCount('epoch', epoch, 0);
  return permutation(n, mulberry32(hashSeed(seed, `epoch/${epoch}`)));
}

/**
 * Consecutive batches of `order`. The last batch is smaller when batchSize does not divide the
 * count (PyTorch DataLoader's default), or dropped with dropLast.
 */
export function toBatches(order: readonly number[], batchSize: number, dropLast = false): number[][] {
  checkCount('batch size', batchSize, 1);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (dropLast && b.length < batchSize) break;
    out.push(b);
  }
  return out;
}

/** Batches of epoch `epoch`: epochOrder then toBatches. */
export function epochBatches(n: number, batchSize: number, seed: number, epoch: number, dropLast = false): number[][] {
  return toBatches(epochOrder(n, seed, epoch), batchSize, dropLast);
}

/** Number of batches per epoch. */
export function batchesPerEpoch(n: number, batchSize: number, dropLast = false): number {
  checkCount('batch size', batchSize, 1);
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Sorted indices of a train/validation split. */
export interface Split {
  /** Sorted indices. */
  train: number[];
  /** Sorted indices. */
  val: number[];
}

/**
 * A seeded train/validation split of 0..n-1: round(n * valFraction) examples (at least one when
 * valFraction > 0 and n > 1, and never all of them) chosen by a permutation; both lists sorted.
 */
export function splitTrainVal(n: number, valFraction: number, seed: number): Split {
  checkCount('number of examples', n, 0);
  if (!(valFraction >= 0 && valFraction < 1)) throw configError('validation fraction', `must be in [0, 1), got ${valFraction}`);
  let nVal = Math.round(n * valFraction);
  if (valFraction > 0 && n > 1) nVal = Math.min(Math.max(nVal, 1), n - 1);
  const p = permutation(n, mulberry32(hashSeed(seed, 'split/val')));
  const byIndex = (a: number, b: number) => a - b;
  return { val: p.slice(0, nVal).sort(byIndex), train: p.slice(nVal).sort(byIndex) };
}
