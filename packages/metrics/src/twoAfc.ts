/**
 * 2AFC score of a perceptual distance on BAPPS triplets (docs/PROTOCOL.md section 3, as in LPIPS'
 * `score_2afc_dataset`). `judge` is the fraction of humans who found p1 closer to the reference,
 * so a distance earns `1 - judge` for preferring p0, `judge` for preferring p1, and 0.5 on a tie
 * (an exact floating-point tie, as the reference compares with `==`).
 */
import { assertNonEmpty, assertSameLength, metricsInputError } from './errors';

/** Per-triplet 2AFC scores in [0, 1]. */
export function twoAfcScores(d0: ArrayLike<number>, d1: ArrayLike<number>, judge: ArrayLike<number>): Float64Array {
  assertSameLength(['d0', 'd1'], d0, d1);
  assertSameLength(['d0', 'judge'], d0, judge);
  const out = new Float64Array(d0.length);
  for (let i = 0; i < d0.length; i++) {
    const a = d0[i];
    const b = d1[i];
    const j = judge[i];
    if (Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(j)) {
      throw metricsInputError(`triplet ${i}`, 'has a NaN distance or judge value', 'check the network output and the judge files');
    }
    out[i] = a < b ? 1 - j : b < a ? j : 0.5;
  }
  return out;
}

/** Mean 2AFC score of one split. */
export function twoAfcScore(d0: ArrayLike<number>, d1: ArrayLike<number>, judge: ArrayLike<number>): number {
  assertNonEmpty('d0', d0);
  return mean(twoAfcScores(d0, d1, judge));
}

/**
 * Unweighted mean over splits (the study's "average over the six val splits": each split counts
 * once regardless of its number of triplets).
 */
export function meanOverSplits(perSplit: Readonly<Record<string, number>> | ReadonlyArray<number>): number {
  const values = Array.isArray(perSplit) ? (perSplit as ReadonlyArray<number>) : Object.values(perSplit);
  if (values.length === 0) throw metricsInputError('splits', 'no split scores given', 'pass at least one split');
  return mean(values);
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}
