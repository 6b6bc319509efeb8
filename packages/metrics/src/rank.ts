/**
 * Rank statistics for the analysis (relating benchmark results to network attributes and to each
 * other): Spearman's rho and Kendall's tau-b with two-sided permutation p-values, and helpers to
 * rank networks by score. `dpl report` uses these; this is the only implementation in dpl.
 *
 * - Ranks are 1-based and ascending with ties given their average rank (scipy `rankdata`
 *   'average').
 * - rho = Pearson correlation of the average ranks (as scipy `spearmanr`); tau-b =
 *   (concordant - discordant) / sqrt((P - Tx) (P - Ty)) with P = n(n-1)/2 pairs and Tx, Ty the
 *   pairs tied in x, y (as scipy `kendalltau`, variant 'b'). Both are NaN when an input is
 *   constant (scipy also returns NaN there).
 * - Permutation test of |statistic| with y re-paired to x. When n! is at most the permutation
 *   budget every pairing is enumerated and p = #{|stat_perm| >= |stat_obs|} / n!, the exact
 *   permutation p-value (the observed pairing is one of the n!, so p >= 1/n!; this is what scipy's
 *   `permutation_test` does when it can enumerate). Otherwise y is shuffled (seeded mulberry32,
 *   Fisher-Yates) `permutations` times and p = (#hits + 1) / (permutations + 1): counting the
 *   observed pairing keeps the estimate a valid p-value that is never 0 (Phipson & Smyth 2010).
 *   The denominators of both statistics do not change under a permutation of y, so we compare
 *   numerators, and we compare them in exact integer arithmetic (doubled average ranks are
 *   integers; the Kendall numerator is an integer), so no tolerance decides a tie.
 */
import { assertSameLength, metricsInputError } from './errors';
import { mulberry32, shuffleInPlace } from './prng';

/** 1-based ascending ranks, ties averaged (scipy `rankdata(method='average')`). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i])) throw metricsInputError(`values[${i}]`, 'is NaN', 'remove or replace NaN scores before ranking');
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const r = (i + j) / 2 + 1; // positions i..j hold ranks i+1..j+1
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

function checkPair(x: ArrayLike<number>, y: ArrayLike<number>): void {
  assertSameLength(['x', 'y'], x, y);
  if (x.length < 2) throw metricsInputError('x', `has ${x.length} values`, 'a rank correlation needs at least 2 pairs');
}

/** Integer-valued doubled ranks, their sum, and the sum of squared centred doubled ranks. */
function doubledRanks(v: ArrayLike<number>): { r2: Float64Array; sum: number } {
  const r = averageRanks(v);
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    r[i] *= 2;
    sum += r[i];
  }
  return { r2: r, sum };
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0,
    mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  // one square root of the product: a perfect relation (sab = saa = sbb) then gives exactly +-1,
  // since sqrt(v * v) === v in IEEE arithmetic; sums of squared ranks (<= n^3) cannot overflow
  return clip(sab / Math.sqrt(saa * sbb));
}

const sign = Math.sign;
const clip = (v: number): number => Math.min(1, Math.max(-1, v));

/** Spearman's rank correlation (average ranks for ties). */
export function spearmanRho(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Sign of pairwise differences for i < j, packed row by row. */
function pairSigns(v: ArrayLike<number>): Int8Array {
  const n = v.length;
  const out = new Int8Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[k++] = sign(v[j] - v[i]);
  return out;
}

interface KendallParts {
  /** concordant - discordant */
  s: number;
  /** pairs not tied in x, in y */
  nx: number;
  ny: number;
}

function kendallParts(x: ArrayLike<number>, y: ArrayLike<number>): KendallParts {
  const n = x.length;
  let s = 0,
    nx = 0,
    ny = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = sign(x[j] - x[i]);
      const b = sign(y[j] - y[i]);
      s += a * b;
      if (a !== 0) nx++;
      if (b !== 0) ny++;
    }
  }
  return { s, nx, ny };
}

/** Kendall's tau-b (ties in either variable handled). O(n^2). */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y);
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]) || Number.isNaN(y[i])) throw metricsInputError(`pair ${i}`, 'has a NaN value', 'remove or replace NaN scores');
  }
  const { s, nx, ny } = kendallParts(x, y);
  if (nx === 0 || ny === 0) return NaN;
  return clip(s / Math.sqrt(nx * ny)); // exact integer product (< 2^53 up to n ~ 10^4), see pearson
}

/** Options of the permutation tests: the budget of pairings and the seed. */
export interface PermutationOptions {
  /**
   * Permutation budget. Default 10000. When n! is at most this, all n! pairings are enumerated
   * and the p-value is exact; otherwise this many random pairings give a Monte Carlo estimate.
   */
  permutations?: number;
  /** PRNG seed for the random pairings. Default 0. */
  seed?: number;
}

/** A rank correlation with its two-sided permutation p-value. */
export interface TestResult {
  statistic: number;
  /** Two-sided permutation p-value; NaN when the statistic is NaN. */
  pValue: number;
  /** True when every pairing was enumerated (n! <= permutations): pValue is then exact. */
  exact: boolean;
  /** Pairings evaluated: n! when exact, the random pairings drawn otherwise, 0 when NaN. */
  permutations: number;
}

function permutationCount(opts: PermutationOptions): number {
  const p = opts.permutations ?? 10000;
  if (!Number.isInteger(p) || p < 1) throw metricsInputError('permutations', `is ${p}`, 'use a positive integer');
  return p;
}

/** n! when it is at most `limit`, else null (so we never form huge factorials). */
function factorialUpTo(n: number, limit: number): number | null {
  let f = 1;
  for (let i = 2; i <= n; i++) {
    f *= i;
    if (f > limit) return null;
  }
  return f;
}

/**
 * The permutation p-value of an integer-valued |numerator| (see the header): `ys` is re-paired in
 * place, exhaustively (Heap's algorithm, one swap per pairing) when n! <= the budget, else by
 * seeded shuffles.
 */
function permutationPValue(
  ys: Float64Array,
  numerator: (ys: Float64Array) => number,
  observed: number,
  opts: PermutationOptions,
): Omit<TestResult, 'statistic'> {
  const budget = permutationCount(opts);
  const n = ys.length;
  const total = factorialUpTo(n, budget);
  let hits = 0;
  if (total !== null) {
    if (numerator(ys) >= observed) hits++; // the observed pairing itself
    const c = new Int32Array(n);
    for (let i = 1; i < n;) {
      if (c[i] < i) {
        const k = i % 2 === 0 ? 0 : c[i];
        const t = ys[k];
        ys[k] = ys[i];
        ys[i] = t;
        if (numerator(ys) >= observed) hits++;
        c[i]++;
        i = 1;
      } else {
        c[i] = 0;
        i++;
      }
    }
    return { pValue: hits / total, exact: true, permutations: total };
  }
  const rng = mulberry32(opts.seed ?? 0);
  for (let k = 0; k < budget; k++) {
    shuffleInPlace(rng, ys);
    if (numerator(ys) >= observed) hits++;
  }
  return { pValue: (hits + 1) / (budget + 1), exact: false, permutations: budget };
}

const undefinedTest = (statistic: number, opts: PermutationOptions): TestResult => {
  permutationCount(opts); // a bad budget is an error even when there is nothing to test
  return { statistic, pValue: NaN, exact: false, permutations: 0 };
};

/** Spearman's rho with a two-sided permutation p-value. */
export function spearmanTest(x: ArrayLike<number>, y: ArrayLike<number>, opts: PermutationOptions = {}): TestResult {
  const statistic = spearmanRho(x, y);
  if (Number.isNaN(statistic)) return undefinedTest(statistic, opts);
  const n = x.length;
  if (n > 5000) throw metricsInputError('x', `has ${n} values`, 'the exact Spearman permutation test supports up to 5000 pairs');
  const rx = doubledRanks(x);
  const ry = doubledRanks(y);
  // n * (centred numerator * 4) = n * sum(2rx * 2ry) - sum(2rx) * sum(2ry): an exact integer
  // while it stays below 2^53, i.e. for n up to a few thousand (it grows like 4 n^4).
  const offset = rx.sum * ry.sum;
  const numerator = (ys: Float64Array): number => {
    let t = 0;
    for (let i = 0; i < n; i++) t += rx.r2[i] * ys[i];
    return Math.abs(n * t - offset);
  };
  return { statistic, ...permutationPValue(Float64Array.from(ry.r2), numerator, numerator(ry.r2), opts) };
}

/** Kendall's tau-b with a two-sided permutation p-value. */
export function kendallTest(x: ArrayLike<number>, y: ArrayLike<number>, opts: PermutationOptions = {}): TestResult {
  const statistic = kendallTauB(x, y);
  if (Number.isNaN(statistic)) return undefinedTest(statistic, opts);
  const n = x.length;
  const sx = pairSigns(x);
  const numerator = (ys: Float64Array): number => {
    let s = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      const yi = ys[i];
      for (let j = i + 1; j < n; j++, p++) {
        // no Math.sign here: global lookups are slow in hot loops under jest (see prng.ts)
        const d = ys[j] - yi;
        if (d > 0) s += sx[p];
        else if (d < 0) s -= sx[p];
      }
    }
    return Math.abs(s);
  };
  return { statistic, ...permutationPValue(Float64Array.from(y), numerator, Math.abs(kendallParts(x, y).s), opts) };
}

/**
 * Fewest pairs for which rankCorrelation reports coefficients: with 2 pairs both are +-1 (or
 * undefined) whatever the data, and every pairing reaches |r| = 1, so p = 1 says nothing.
 */
export const MIN_CORRELATION_N = 3;

/** Why rankCorrelation has no coefficients: too few pairs, or x or y constant (both would be NaN). */
export type NoCorrelationReason = 'too-few-pairs' | 'constant-x' | 'constant-y';

/** Spearman's and Kendall's correlations of a set of pairs, or why they are undefined. */
export interface RankCorrelation {
  /** Number of (x, y) pairs. */
  n: number;
  spearman: TestResult | null;
  kendall: TestResult | null;
  /** Set exactly when both tests are null. */
  reason?: NoCorrelationReason;
}

const isConstant = (v: ArrayLike<number>): boolean => {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
};

/**
 * Spearman and Kendall with permutation p-values (same budget and seed), or null for both with
 * the reason when fewer than MIN_CORRELATION_N pairs or a constant variable leave them undefined.
 */
export function rankCorrelation(x: ArrayLike<number>, y: ArrayLike<number>, opts: PermutationOptions = {}): RankCorrelation {
  assertSameLength(['x', 'y'], x, y);
  permutationCount(opts);
  const n = x.length;
  const none = (reason: NoCorrelationReason): RankCorrelation => ({ n, spearman: null, kendall: null, reason });
  if (n < MIN_CORRELATION_N) return none('too-few-pairs');
  if (isConstant(x)) return none('constant-x');
  if (isConstant(y)) return none('constant-y');
  return { n, spearman: spearmanTest(x, y, opts), kendall: kendallTest(x, y, opts) };
}

/** Whether rank 1 goes to the highest score. */
export interface RankOptions {
  /** Rank 1 goes to the highest score (default) or, when false, to the lowest (e.g. losses). */
  higherIsBetter?: boolean;
}

/** Ranks scores, 1 = best, ties averaged (the array form of rankByScore). */
export function rankScores(scores: ArrayLike<number>, opts: RankOptions = {}): Float64Array {
  const dir = (opts.higherIsBetter ?? true) ? -1 : 1;
  return averageRanks(Array.from(scores, (v) => dir * v));
}

/** Ranks named scores, 1 = best, ties averaged. */
export function rankByScore(scores: Readonly<Record<string, number>>, opts: RankOptions = {}): Record<string, number> {
  const names = Object.keys(scores);
  const ranks = rankScores(
    names.map((k) => scores[k]),
    opts,
  );
  const out: Record<string, number> = {};
  names.forEach((k, i) => (out[k] = ranks[i]));
  return out;
}

/** Whether rank 1 goes to the highest score, for all tables or per table. */
export interface MeanRankOptions {
  /** One flag for all tables or one per table. Default true. */
  higherIsBetter?: boolean | ReadonlyArray<boolean>;
}

/** Mean over tables of each name's rank within the table; every table must score the same names. */
export function meanRank(tables: ReadonlyArray<Readonly<Record<string, number>>>, opts: MeanRankOptions = {}): Record<string, number> {
  if (tables.length === 0) throw metricsInputError('tables', 'is empty', 'pass at least one score table');
  const hib = opts.higherIsBetter ?? true;
  if (typeof hib !== 'boolean' && hib.length !== tables.length) {
    throw metricsInputError(
      'higherIsBetter',
      `has ${hib.length} flags for ${tables.length} tables`,
      'pass one flag per table or a single boolean',
    );
  }
  const names = Object.keys(tables[0]).sort();
  const sum: Record<string, number> = {};
  for (const k of names) sum[k] = 0;
  tables.forEach((t, ti) => {
    const keys = Object.keys(t).sort();
    if (keys.length !== names.length || keys.some((k, i) => k !== names[i])) {
      const missing = names.filter((k) => !(k in t));
      const extra = keys.filter((k) => !(k in tables[0]));
      throw metricsInputError(
        `tables[${ti}]`,
        `scores different names than tables[0] (missing: ${missing.join(', ') || 'none'}; extra: ${extra.join(', ') || 'none'})`,
        'rank the same set of networks in every table',
      );
    }
    const r = rankByScore(t, { higherIsBetter: typeof hib === 'boolean' ? hib : hib[ti] });
    for (const k of names) sum[k] += r[k];
  });
  const out: Record<string, number> = {};
  for (const k of Object.keys(tables[0])) out[k] = sum[k] / tables.length;
  return out;
}
