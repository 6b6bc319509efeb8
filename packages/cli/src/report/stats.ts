/**
 * The report's statistics glue. Ranks, Spearman, Kendall and their permutation tests come from
 * @dpl/metrics (one implementation for the library and the report); this file keeps what only
 * the report needs: means and sample standard deviations over seeds, and the correlation record
 * the report stores in report.json and prints (`r`, `p`, `exact`, and a note saying why a
 * coefficient is n/a).
 */
import { MIN_CORRELATION_N, rankCorrelation, type NoCorrelationReason, type PermutationOptions, type TestResult } from '@dpl/metrics';

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample standard deviation (n - 1); NaN for fewer than two values. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface CorrelationTest {
  r: number;
  p: number;
  /** True when every pairing was enumerated (n! <= permutations); else a seeded Monte Carlo estimate. */
  exact: boolean;
}

export interface Correlation {
  n: number;
  spearman: CorrelationTest | null;
  kendall: CorrelationTest | null;
  /** Why the coefficients are missing (too few points, a constant variable). */
  note?: string;
}

const NOTES: Record<NoCorrelationReason, (n: number) => string> = {
  'too-few-pairs': (n) => `n/a: ${n} point${n === 1 ? '' : 's'} (need ${MIN_CORRELATION_N})`,
  'constant-x': () => 'n/a: the attribute is constant',
  'constant-y': () => 'n/a: the metric is constant',
};

const asTest = (t: TestResult | null): CorrelationTest | null => t && { r: t.statistic, p: t.pValue, exact: t.exact };

/** Spearman and Kendall of a metric (y) against an attribute (x), in the report's shape. */
export function correlate(x: readonly number[], y: readonly number[], opts: PermutationOptions = {}): Correlation {
  const c = rankCorrelation(x, y, opts);
  const out: Correlation = { n: c.n, spearman: asTest(c.spearman), kendall: asTest(c.kendall) };
  if (c.reason) out.note = NOTES[c.reason](c.n);
  return out;
}
