import { spawnSync } from 'node:child_process';
import {
  averageRanks,
  correlate,
  kendallTauB,
  kendallTauBAgainst,
  mulberry32,
  pearson,
  permutationTest,
  sampleStd,
  spearman,
} from '../../src/report/stats';

const PY = '/usr/bin/python3';
const hasScipy = spawnSync(PY, ['-c', 'import scipy.stats'], { encoding: 'utf8' }).status === 0;
if (!hasScipy) console.warn(`skipping the scipy parity test: ${PY} cannot import scipy.stats`);
const withScipy = hasScipy ? it : it.skip;

describe('ranks, Spearman, Kendall (hand-computed)', () => {
  it('average ranks share tied positions', () => {
    expect(averageRanks([10, 20, 20, 30])).toEqual([1, 2.5, 2.5, 4]);
    expect(averageRanks([3, 1, 2])).toEqual([3, 1, 2]);
    expect(averageRanks([5, 5, 5])).toEqual([2, 2, 2]);
  });

  it('a perfectly monotone relation is 1, reversed -1, for both coefficients', () => {
    const x = [1, 2, 3, 4, 5];
    const y = [1, 4, 9, 16, 25]; // monotone but not linear: Pearson < 1, ranks = 1
    expect(pearson(x, y)).toBeLessThan(0.99);
    expect(spearman(x, y)).toBeCloseTo(1, 12);
    expect(kendallTauB(x, y)).toBeCloseTo(1, 12);
    const rev = [...y].reverse();
    expect(spearman(x, rev)).toBeCloseTo(-1, 12);
    expect(kendallTauB(x, rev)).toBeCloseTo(-1, 12);
  });

  it('one swapped pair: tau = (5 - 1) / 6, rho = 1 - 6*2/(4*15)', () => {
    const x = [1, 2, 3, 4];
    const y = [1, 3, 2, 4];
    expect(kendallTauB(x, y)).toBeCloseTo(4 / 6, 12);
    expect(spearman(x, y)).toBeCloseTo(1 - (6 * 2) / (4 * 15), 12);
  });

  it('ties: tau-b = 5 / sqrt(5 * 6), rho = 4.5 / sqrt(4.5 * 5)', () => {
    const x = [1, 2, 2, 3];
    const y = [1, 2, 3, 4];
    // pairs: 6; one tied in x (not counted), the other 5 concordant
    expect(kendallTauB(x, y)).toBeCloseTo(5 / Math.sqrt(5 * 6), 12);
    // ranks x [1, 2.5, 2.5, 4], y [1, 2, 3, 4]
    expect(spearman(x, y)).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
  });

  it('the permutation-test Kendall (x precomputed) equals the direct one, ties included', () => {
    const rand = mulberry32(3);
    for (let t = 0; t < 100; t++) {
      const n = 3 + (t % 15);
      const x = Array.from({ length: n }, () => Math.floor(rand() * 4));
      const y = Array.from({ length: n }, () => Math.floor(rand() * 3));
      const direct = kendallTauB(x, y);
      const fast = kendallTauBAgainst(x)(y);
      if (Number.isNaN(direct)) expect(fast).toBeNaN();
      else expect(fast).toBeCloseTo(direct, 14);
    }
  });

  it('a constant variable has no correlation (NaN), and sample std uses n - 1', () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(kendallTauB([1, 2, 3], [7, 7, 7])).toBeNaN();
    expect(sampleStd([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(sampleStd([4])).toBeNaN();
  });
});

describe('permutation p-values', () => {
  it('n = 3, perfect order: exactly 2 of the 6 pairings reach |r| = 1, so p = 1/3', () => {
    const s = permutationTest([1, 2, 3], [1, 2, 3], spearman);
    expect(s).toEqual({ statistic: 1, pValue: 1 / 3, exact: true, permutations: 6 });
    const k = permutationTest([1, 2, 3], [10, 20, 30], kendallTauB);
    expect(k.pValue).toBeCloseTo(1 / 3, 12);
    expect(k.exact).toBe(true);
  });

  it('n = 4, perfect order: p = 2/24; one swapped pair: |tau| >= 2/3 in 8 of 24 pairings', () => {
    expect(permutationTest([1, 2, 3, 4], [2, 4, 6, 8], kendallTauB).pValue).toBeCloseTo(2 / 24, 12);
    // tau = 4/6 needs at most one discordant pair: 1 + 3 adjacent swaps, and the mirror images
    expect(permutationTest([1, 2, 3, 4], [1, 3, 2, 4], kendallTauB).pValue).toBeCloseTo(8 / 24, 12);
  });

  it('Monte Carlo estimates agree with exact enumeration (n = 8) and repeat with the same seed', () => {
    const x = [0.3, 1.9, 1.1, 2.5, 0.8, 3.3, 2.0, 2.9];
    const y = [1.0, 1.4, 0.9, 2.2, 1.8, 2.1, 1.2, 2.6];
    const tau = kendallTauBAgainst(x);
    const exact = permutationTest(x, y, (_x, yy) => tau(yy), { permutations: 50_000 });
    expect(exact.exact).toBe(true);
    expect(exact.permutations).toBe(40_320);
    expect(exact.statistic).toBeCloseTo(kendallTauB(x, y), 14);
    const mc = permutationTest(x, y, (_x, yy) => tau(yy), { permutations: 4000, seed: 7 });
    expect(mc.exact).toBe(false);
    // the binomial sd of the estimate is below 0.008
    expect(Math.abs(mc.pValue - exact.pValue)).toBeLessThan(0.03);
    expect(permutationTest(x, y, (_x, yy) => tau(yy), { permutations: 4000, seed: 7 }).pValue).toBe(mc.pValue);
  });

  it('a perfect order at n = 10 is (almost) never matched by chance: p = 1/(1 + N)', () => {
    const x = [...Array(10).keys()];
    const r = permutationTest(x, x, spearman, { permutations: 2000, seed: 1 });
    expect(r.pValue).toBeCloseTo(1 / 2001, 12);
  });

  it('mulberry32 is seeded and uniform-ish', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, v) => s + v, 0) / xs.length).toBeCloseTo(0.5, 1);
  });

  it('correlate says n/a below 3 points and for a constant variable', () => {
    expect(correlate([1, 2], [3, 4])).toMatchObject({ n: 2, spearman: null, kendall: null, note: expect.stringMatching(/n\/a: 2 points/) });
    expect(correlate([1, 1, 1], [3, 4, 5])).toMatchObject({ n: 3, spearman: null, note: expect.stringMatching(/attribute is constant/) });
    const c = correlate([1, 2, 3], [3, 2, 1]);
    expect(c.spearman).toEqual({ r: -1, p: 1 / 3, exact: true });
    expect(c.kendall?.r).toBeCloseTo(-1, 12);
  });
});

describe('parity with scipy.stats', () => {
  // tie-free sets: permutation p-values compare exactly (scipy enumerates all n! pairings when n! <= 9999)
  const noTies: [number[], number[]][] = [
    [
      [3.1, 1.2, 4.8, 2.2, 5.0, 0.7],
      [2.0, 1.1, 3.9, 2.5, 4.1, 1.5],
    ],
    [
      [0.61, 0.55, 0.72, 0.58, 0.7],
      [77.6, 56.5, 71.6, 69.8, 84.1],
    ],
    [
      [5, 4, 3, 1, 2],
      [0.1, 0.4, 0.2, 0.5, 0.3],
    ],
  ];
  // tied sets: coefficients only (scipy's two-sided permutation p is 2*min(one-sided), ours |r| >= |r_obs|)
  const ties: [number[], number[]][] = [
    [
      [1, 2, 2, 3, 4, 4, 4, 5],
      [2, 1, 3, 3, 5, 4, 6, 6],
    ],
    [
      [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7],
      [0.3, 0.1, 0.5, 0.5, 0.2, 0.9, 0.7, 0.7, 1.1, 0.8, 1.0, 1.2],
    ],
  ];

  withScipy('rho and tau-b (ties included) and exact permutation p-values match scipy', () => {
    const script = `
import json, sys
from scipy import stats
data = json.loads(sys.argv[1])
out = []
for x, y, perm in data:
    rho = stats.spearmanr(x, y)[0]
    tau = stats.kendalltau(x, y)[0]
    row = {"rho": rho, "tau": tau}
    if perm == "kendall-exact":
        row["p_tau"] = stats.kendalltau(x, y, method="exact").pvalue
    elif perm:
        row["p_rho"] = stats.permutation_test((y,), lambda yp: stats.spearmanr(x, yp)[0], permutation_type="pairings").pvalue
        row["p_tau"] = stats.permutation_test((y,), lambda yp: stats.kendalltau(x, yp)[0], permutation_type="pairings").pvalue
    out.append(row)
print(json.dumps(out))
`;
    // n = 8: scipy's exact Kendall distribution against our enumeration of all 40,320 pairings
    const eight = [
      [0.3, 1.9, 1.1, 2.5, 0.8, 3.3, 2.0, 2.9],
      [1.0, 1.4, 0.9, 2.2, 1.8, 2.1, 1.2, 2.6],
    ];
    const data = [...noTies.map(([x, y]) => [x, y, true]), ...ties.map(([x, y]) => [x, y, false]), [...eight, 'kendall-exact']];
    const run = spawnSync(PY, ['-c', script, JSON.stringify(data)], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const ref = JSON.parse(run.stdout) as { rho: number; tau: number; p_rho?: number; p_tau?: number }[];
    let maxDiff = 0;
    data.forEach(([x, y, perm], i) => {
      const c = correlate(x as number[], y as number[], { permutations: perm === 'kendall-exact' ? 50_000 : 10_000 });
      const diffs = [Math.abs(c.spearman!.r - ref[i].rho), Math.abs(c.kendall!.r - ref[i].tau)];
      if (perm === 'kendall-exact') {
        expect(c.kendall!.exact).toBe(true);
        diffs.push(Math.abs(c.kendall!.p - ref[i].p_tau!));
      } else if (perm) {
        expect(c.spearman!.exact).toBe(true);
        diffs.push(Math.abs(c.spearman!.p - ref[i].p_rho!), Math.abs(c.kendall!.p - ref[i].p_tau!));
      }
      maxDiff = Math.max(maxDiff, ...diffs);
    });
    console.log(`max |ours - scipy| over ${data.length} sets (rho, tau-b, exact permutation p): ${maxDiff.toExponential(2)}`);
    expect(maxDiff).toBeLessThan(1e-12);
  });
});
