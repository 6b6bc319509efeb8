import { kendallTest, spearmanTest } from '@dpl/metrics';
import { correlate, mean, sampleStd } from '../../src/report/stats';

// The statistics themselves (ranks, rho, tau-b, exact and Monte Carlo permutation p-values, scipy
// parity) are tested in packages/metrics/test/rank.test.ts; here only the report's glue.

describe('report statistics glue', () => {
  it('mean, and a sample std with n - 1 (NaN for one value)', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(sampleStd([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(sampleStd([4])).toBeNaN();
  });

  it('correlate says n/a below 3 points and for a constant attribute or metric', () => {
    expect(correlate([1, 2], [3, 4])).toEqual({ n: 2, spearman: null, kendall: null, note: 'n/a: 2 points (need 3)' });
    expect(correlate([1], [3])).toMatchObject({ note: 'n/a: 1 point (need 3)' });
    expect(correlate([1, 1, 1], [3, 4, 5])).toEqual({ n: 3, spearman: null, kendall: null, note: 'n/a: the attribute is constant' });
    expect(correlate([1, 2, 3], [5, 5, 5])).toMatchObject({ spearman: null, note: 'n/a: the metric is constant' });
  });

  it('correlate reports @dpl/metrics tests as r, p, exact (no note)', () => {
    expect(correlate([1, 2, 3], [3, 2, 1])).toEqual({
      n: 3,
      spearman: { r: -1, p: 1 / 3, exact: true },
      kendall: { r: -1, p: 1 / 3, exact: true },
    });
    const x = [0.3, 1.9, 1.1, 2.5, 0.8, 3.3, 2.0, 2.9];
    const y = [1.0, 1.4, 0.9, 2.2, 1.8, 2.1, 1.2, 2.6];
    const opts = { permutations: 2000, seed: 3 };
    const s = spearmanTest(x, y, opts);
    const k = kendallTest(x, y, opts);
    expect(correlate(x, y, opts)).toEqual({
      n: 8,
      spearman: { r: s.statistic, p: s.pValue, exact: false },
      kendall: { r: k.statistic, p: k.pValue, exact: false },
    });
  });
});
