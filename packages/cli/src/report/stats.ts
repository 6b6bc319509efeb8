/**
 * Small, dependency-free statistics for the report: means, ranks, Spearman's rho, Kendall's
 * tau-b and permutation p-values. Pure functions on plain arrays.
 */

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample standard deviation (n - 1); NaN for fewer than two values. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * 1-based ranks, ascending; tied values share the mean of the ranks they span (so the ranks
 * of [10, 20, 20, 30] are [1, 2.5, 2.5, 4]).
 */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const ranks = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]] === xs[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/** Pearson's r; NaN when either variable is constant (the correlation is undefined). */
export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Spearman's rho: Pearson's r of the average ranks (ties handled as scipy.stats.spearmanr does). */
export const spearman = (x: readonly number[], y: readonly number[]): number => pearson(averageRanks(x), averageRanks(y));

/**
 * Kendall's tau-b: (concordant - discordant) / sqrt((n0 - tx)(n0 - ty)) with n0 = n(n-1)/2 and
 * tx, ty the pairs tied in x, in y. A pair tied in both counts in neither numerator term.
 * NaN when either variable is constant.
 */
export function kendallTauB(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  let s = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const a = Math.sign(x[i] - x[j]);
      const b = Math.sign(y[i] - y[j]);
      if (a === 0) tx++;
      if (b === 0) ty++;
      s += a * b;
    }
  const n0 = (n * (n - 1)) / 2;
  const d = Math.sqrt((n0 - tx) * (n0 - ty));
  return d === 0 ? NaN : Math.max(-1, Math.min(1, s / d));
}

/**
 * Kendall's tau-b against a fixed x, for permutation tests: x's pair signs and ties are computed
 * once, so each re-pairing of y costs one pass over the pairs.
 */
export function kendallTauBAgainst(x: readonly number[]): (y: readonly number[]) => number {
  const n = x.length;
  const signs = new Int8Array((n * (n - 1)) / 2);
  let tx = 0;
  for (let i = 0, k = 0; i < n; i++)
    for (let j = i + 1; j < n; j++, k++) {
      signs[k] = Math.sign(x[i] - x[j]);
      if (signs[k] === 0) tx++;
    }
  const n0 = (n * (n - 1)) / 2;
  return (y) => {
    let s = 0;
    let ty = 0;
    for (let i = 0, k = 0; i < n; i++) {
      const yi = y[i];
      for (let j = i + 1; j < n; j++, k++) {
        const d = yi - y[j];
        if (d > 0) s += signs[k];
        else if (d < 0) s -= signs[k];
        else ty++;
      }
    }
    const den = Math.sqrt((n0 - tx) * (n0 - ty));
    return den === 0 ? NaN : Math.max(-1, Math.min(1, s / den));
  };
}

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1); enough for shuffling. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PermutationResult {
  statistic: number;
  /** Two-sided: the share of pairings whose |statistic| is at least the observed |statistic|. */
  pValue: number;
  /** True when every pairing was enumerated (n! <= permutations); else a seeded Monte Carlo estimate. */
  exact: boolean;
  /** Pairings evaluated (n! when exact). */
  permutations: number;
}

export interface PermutationOptions {
  /** Random pairings when n! is larger (default 10,000). */
  permutations?: number;
  seed?: number;
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/**
 * Permutation test of association: the statistic recomputed with y re-paired to x. With n! at
 * most `permutations` every pairing is enumerated (Heap's algorithm) and the p-value is exact;
 * otherwise `permutations` seeded random pairings give p = (1 + hits) / (1 + permutations), which
 * counts the observed pairing so p is never 0.
 */
export function permutationTest(
  x: readonly number[],
  y: readonly number[],
  statistic: (x: readonly number[], y: readonly number[]) => number,
  opts: PermutationOptions = {},
): PermutationResult {
  const observed = statistic(x, y);
  const budget = opts.permutations ?? 10_000;
  if (!Number.isFinite(observed)) return { statistic: observed, pValue: NaN, exact: false, permutations: 0 };
  // floating-point slack so the observed pairing (and exact mirror images) always count as hits
  const bar = Math.abs(observed) - 1e-12 * Math.max(1, Math.abs(observed));
  const yy = [...y];
  const n = yy.length;
  let hits = 0;
  if (factorial(n) <= budget) {
    // Heap's algorithm, iterative: visits every arrangement of yy exactly once
    const c = new Array<number>(n).fill(0);
    let total = 1;
    if (Math.abs(statistic(x, yy)) >= bar) hits++;
    for (let i = 1; i < n;) {
      if (c[i] < i) {
        const k = i % 2 === 0 ? 0 : c[i];
        [yy[k], yy[i]] = [yy[i], yy[k]];
        total++;
        if (Math.abs(statistic(x, yy)) >= bar) hits++;
        c[i]++;
        i = 1;
      } else {
        c[i] = 0;
        i++;
      }
    }
    return { statistic: observed, pValue: hits / total, exact: true, permutations: total };
  }
  const rand = mulberry32(opts.seed ?? 0);
  for (let p = 0; p < budget; p++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [yy[i], yy[j]] = [yy[j], yy[i]];
    }
    if (Math.abs(statistic(x, yy)) >= bar) hits++;
  }
  return { statistic: observed, pValue: (1 + hits) / (1 + budget), exact: false, permutations: budget };
}

export interface CorrelationTest {
  r: number;
  p: number;
  exact: boolean;
}

export interface Correlation {
  n: number;
  spearman: CorrelationTest | null;
  kendall: CorrelationTest | null;
  /** Why a coefficient is missing (too few points, a constant variable). */
  note?: string;
}

/** Minimum sample for a correlation to be reported (below it: n/a). */
export const MIN_CORRELATION_N = 3;

/** Spearman and Kendall with permutation p-values; n/a (null) below 3 points or for a constant variable. */
export function correlate(x: readonly number[], y: readonly number[], opts: PermutationOptions = {}): Correlation {
  const n = x.length;
  if (n !== y.length) throw new Error(`correlate: x has ${n} values, y ${y.length}`);
  if (n < MIN_CORRELATION_N)
    return { n, spearman: null, kendall: null, note: `n/a: ${n} point${n === 1 ? '' : 's'} (need ${MIN_CORRELATION_N})` };
  if (new Set(x).size < 2 || new Set(y).size < 2)
    return { n, spearman: null, kendall: null, note: `n/a: ${new Set(x).size < 2 ? 'the attribute' : 'the metric'} is constant` };
  const test = (res: PermutationResult): CorrelationTest => ({ r: res.statistic, p: res.pValue, exact: res.exact });
  // Spearman = Pearson on ranks; ranks of a permuted y are the permuted ranks, so rank once
  const s = permutationTest(averageRanks(x), averageRanks(y), pearson, opts);
  const tau = kendallTauBAgainst(x);
  const k = permutationTest(x, y, (_x, yy) => tau(yy), opts);
  return { n, spearman: test(s), kendall: test(k) };
}
