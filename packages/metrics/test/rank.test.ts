import {
  averageRanks,
  kendallTauB,
  kendallTest,
  meanRank,
  MIN_CORRELATION_N,
  mulberry32,
  rankByScore,
  rankCorrelation,
  rankScores,
  spearmanRho,
  spearmanTest,
} from '../src';
import { pythonMissing, runPythonJson } from './python';

/** All permutations of 0..n-1 (Heap's algorithm). */
function permutations(n: number): number[][] {
  const a = Array.from({ length: n }, (_, i) => i);
  const out: number[][] = [a.slice()];
  const c = new Array<number>(n).fill(0);
  let i = 0;
  while (i < n) {
    if (c[i] < i) {
      const j = i % 2 === 0 ? 0 : c[i];
      [a[j], a[i]] = [a[i], a[j]];
      out.push(a.slice());
      c[i]++;
      i = 0;
    } else {
      c[i] = 0;
      i++;
    }
  }
  return out;
}

describe('ranks', () => {
  it('average ranks for ties (by hand)', () => {
    expect(Array.from(averageRanks([10, 20, 10, 30, 20, 20]))).toEqual([1.5, 4, 1.5, 6, 4, 4]);
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 2]))).toEqual([3, 1, 2]);
    expect(Array.from(averageRanks([5, 5, 5]))).toEqual([2, 2, 2]);
    expect(() => averageRanks([1, NaN])).toThrow(/NaN/);
  });

  it('rank by score: 1 = best, ties averaged, lower-is-better option', () => {
    expect(rankByScore({ vgg16: 0.7, alexnet: 0.6, resnet18: 0.7 })).toEqual({ vgg16: 1.5, alexnet: 3, resnet18: 1.5 });
    expect(rankByScore({ a: 0.1, b: 0.3, c: 0.2 }, { higherIsBetter: false })).toEqual({ a: 1, b: 3, c: 2 });
    // the array form, as the report ranks its (network, point) cells
    expect(Array.from(rankScores([0.7, 0.6, 0.7, 0.8]))).toEqual([2.5, 4, 2.5, 1]);
    expect(Array.from(rankScores([0.7, 0.6, 0.7, 0.8], { higherIsBetter: false }))).toEqual([2.5, 1, 2.5, 4]);
    expect(Array.from(rankScores([0, -0, 1]))).toEqual([2.5, 2.5, 1]); // -0 and 0 tie
  });

  it('mean rank across tables', () => {
    const psnr = { a: 25, b: 24, c: 23 }; // ranks 1,2,3
    const loss = { a: 0.3, b: 0.1, c: 0.2 }; // lower better: ranks 3,1,2
    expect(meanRank([psnr, loss], { higherIsBetter: [true, false] })).toEqual({ a: 2, b: 1.5, c: 2.5 });
    expect(meanRank([psnr, psnr])).toEqual({ a: 1, b: 2, c: 3 });
    expect(() => meanRank([psnr, { a: 1, b: 2, d: 3 }])).toThrow(/missing: c; extra: d/);
    expect(() => meanRank([psnr], { higherIsBetter: [true, false] })).toThrow(/flags/);
  });

  it('rho and tau-b by hand', () => {
    expect(spearmanRho([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(spearmanRho([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    // x=[1,2,3], y=[1,3,2]: concordant 2, discordant 1 -> tau = 1/3; rho = 1 - 6*2/(3*8) = 0.5
    expect(kendallTauB([1, 2, 3], [1, 3, 2])).toBeCloseTo(1 / 3, 15);
    expect(spearmanRho([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 15);
    // ties: x=[1,1,2], y=[1,2,3]: S = 0 + 1 + 1 = 2, untied pairs x 2, y 3 -> 2/sqrt(6)
    expect(kendallTauB([1, 1, 2], [1, 2, 3])).toBeCloseTo(2 / Math.sqrt(6), 15);
    expect(Number.isNaN(spearmanRho([1, 2, 3], [5, 5, 5]))).toBe(true);
    expect(Number.isNaN(kendallTauB([1, 2, 3], [5, 5, 5]))).toBe(true);
    expect(Number.isNaN(spearmanRho([1, 1, 1], [1, 2, 3]))).toBe(true);
    expect(spearmanTest([1, 2, 3], [5, 5, 5])).toEqual({ statistic: NaN, pValue: NaN, exact: false, permutations: 0 });
    expect(Number.isNaN(kendallTest([5, 5, 5], [1, 2, 3]).pValue)).toBe(true);
  });

  it('a monotone but non-linear relation is 1 for both, reversed -1', () => {
    const x = [1, 2, 3, 4, 5];
    const y = [1, 4, 9, 16, 25];
    expect(spearmanRho(x, y)).toBeCloseTo(1, 12);
    expect(kendallTauB(x, y)).toBeCloseTo(1, 12);
    const rev = [...y].reverse();
    expect(spearmanRho(x, rev)).toBeCloseTo(-1, 12);
    expect(kendallTauB(x, rev)).toBeCloseTo(-1, 12);
  });

  it('one swapped pair of four: tau = (5 - 1) / 6, rho = 1 - 6*2/(4*15)', () => {
    expect(kendallTauB([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(4 / 6, 12);
    expect(spearmanRho([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(1 - (6 * 2) / (4 * 15), 12);
  });

  it('a tie in x: tau-b = 5 / sqrt(5 * 6), rho = 4.5 / sqrt(4.5 * 5)', () => {
    // 6 pairs, one tied in x (in neither numerator term), the other 5 concordant
    expect(kendallTauB([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(5 / Math.sqrt(5 * 6), 12);
    // ranks x [1, 2.5, 2.5, 4], y [1, 2, 3, 4]
    expect(spearmanRho([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
  });
});

/** Exact two-sided p by brute force: the share of all pairings with |stat| >= |observed| (float, with slack). */
function bruteForceP(stat: (x: number[], y: number[]) => number, x: number[], y: number[]): number {
  const perms = permutations(x.length);
  const obs = Math.abs(stat(x, y));
  let hits = 0;
  for (const p of perms)
    if (
      Math.abs(
        stat(
          x,
          p.map((i) => y[i]),
        ),
      ) >=
      obs - 1e-12
    )
      hits++;
  return hits / perms.length;
}

const TESTS = [
  ['spearman', spearmanRho, spearmanTest],
  ['kendall', kendallTauB, kendallTest],
] as const;

describe('permutation p-values', () => {
  it('n = 3, perfect order: exactly 2 of the 6 pairings reach |r| = 1, so p = 1/3 (exact)', () => {
    expect(spearmanTest([1, 2, 3], [1, 2, 3])).toEqual({ statistic: 1, pValue: 1 / 3, exact: true, permutations: 6 });
    expect(kendallTest([1, 2, 3], [10, 20, 30])).toEqual({ statistic: 1, pValue: 1 / 3, exact: true, permutations: 6 });
    // a budget of 6 still enumerates all 3! pairings, 5 does not
    expect(kendallTest([1, 2, 3], [10, 20, 30], { permutations: 6 }).exact).toBe(true);
    const mc = kendallTest([1, 2, 3], [10, 20, 30], { permutations: 5 });
    expect(mc.exact).toBe(false);
    expect(mc.permutations).toBe(5);
    expect(() => kendallTest([1, 2, 3], [1, 2, 3], { permutations: 0 })).toThrow(/permutations/);
  });

  it('n = 4: perfect order p = 2/24; one swapped pair: |tau| >= 2/3 in 8 of 24 pairings', () => {
    expect(kendallTest([1, 2, 3, 4], [2, 4, 6, 8]).pValue).toBe(2 / 24);
    // tau = 4/6 needs at most one discordant pair: 1 + 3 adjacent swaps, and the mirror images
    expect(kendallTest([1, 2, 3, 4], [1, 3, 2, 4]).pValue).toBe(8 / 24);
  });

  it('the exact p (integer numerators) equals brute-force enumeration of the float statistic, ties included', () => {
    const rng = mulberry32(3);
    let sets = 0;
    for (let t = 0; t < 60; t++) {
      const n = 3 + (t % 4);
      const x = Array.from({ length: n }, () => Math.floor(rng() * 4));
      const y = Array.from({ length: n }, () => Math.floor(rng() * 3));
      for (const [name, stat, test] of TESTS) {
        const r = test(x, y);
        if (Number.isNaN(r.statistic)) {
          expect(Number.isNaN(stat(x, y))).toBe(true);
          continue;
        }
        sets++;
        expect(r.exact).toBe(true);
        expect(r.permutations).toBe(permutations(n).length);
        expect([name, r.pValue]).toEqual([name, bruteForceP(stat, x, y)]);
      }
    }
    expect(sets).toBeGreaterThan(60); // most random sets are not constant
  });

  // n = 7 with ties: the exact permutation distribution has 5040 equally likely arrangements.
  const x = [1, 2, 2, 3, 4, 5, 6];
  const y = [2, 1, 3, 3, 6, 4, 5];

  for (const [name, stat, test] of TESTS) {
    it(`${name}: n = 7 is enumerated by default; a smaller budget's Monte Carlo p agrees and is seeded`, () => {
      const exact = bruteForceP(stat, x, y);
      const e = test(x, y);
      expect(e).toEqual({ statistic: stat(x, y), pValue: exact, exact: true, permutations: 5040 });
      const r = test(x, y, { permutations: 4000, seed: 11 });
      expect(r.exact).toBe(false);
      expect(r.statistic).toBe(stat(x, y));
      const sd = Math.sqrt((exact * (1 - exact)) / 4000);
      console.log(
        `${name}: stat ${r.statistic.toFixed(4)}, exact p ${exact.toFixed(4)}, Monte Carlo p ${r.pValue.toFixed(4)} (sd ${sd.toFixed(4)})`,
      );
      expect(exact).toBeGreaterThan(0.01); // a non-trivial p, so the check means something
      expect(Math.abs(r.pValue - exact)).toBeLessThan(4 * sd + 3e-4);
      expect(test(x, y, { permutations: 4000, seed: 11 }).pValue).toBe(r.pValue); // seeded
    });
  }

  it('n = 8: Monte Carlo agrees with the enumeration of all 40,320 pairings', () => {
    const x8 = [0.3, 1.9, 1.1, 2.5, 0.8, 3.3, 2.0, 2.9];
    const y8 = [1.0, 1.4, 0.9, 2.2, 1.8, 2.1, 1.2, 2.6];
    const exact = kendallTest(x8, y8, { permutations: 50_000 });
    expect(exact.exact).toBe(true);
    expect(exact.permutations).toBe(40_320);
    const mc = kendallTest(x8, y8, { permutations: 4000, seed: 7 });
    expect(mc.exact).toBe(false);
    expect(Math.abs(mc.pValue - exact.pValue)).toBeLessThan(0.03); // binomial sd < 0.008
  });

  it('a perfect monotone relation over 12 items gets the smallest attainable p', () => {
    const a = Array.from({ length: 12 }, (_, i) => i);
    const b = a.map((v) => v * v);
    // P(|stat| = 1) = 2/12! ~ 4e-9, so no permutation matches: p = 1/(n_perm + 1)
    expect(spearmanTest(a, b, { permutations: 2000 }).pValue).toBe(1 / 2001);
    expect(kendallTest(a, b, { permutations: 2000 }).pValue).toBe(1 / 2001);
  });

  it('56 networks x 10000 permutations: every permutation is drawn and the relation is found', () => {
    // its speed is a figure for the report (printed below), not an assertion: nothing asserts on wall-clock time
    const rng = mulberry32(5);
    const a = Array.from({ length: 56 }, () => rng());
    const b = a.map((v) => v + rng());
    const t0 = Date.now();
    const k = kendallTest(a, b);
    const s = spearmanTest(a, b);
    const ms = Date.now() - t0;
    console.log(
      `n=56, 10000 permutations: kendall + spearman took ${ms} ms (tau ${k.statistic.toFixed(3)} p ${k.pValue}, rho ${s.statistic.toFixed(3)} p ${s.pValue})`,
    );
    expect(k.permutations).toBe(10000);
    expect(k.pValue).toBeLessThan(0.01);
    expect(s.permutations).toBe(10000);
    expect(s.pValue).toBeLessThan(0.01);
  });
});

describe('rankCorrelation', () => {
  it('both tests with one budget and seed, or none with the reason', () => {
    expect(MIN_CORRELATION_N).toBe(3);
    expect(rankCorrelation([1, 2], [3, 4])).toEqual({ n: 2, spearman: null, kendall: null, reason: 'too-few-pairs' });
    expect(rankCorrelation([1, 1, 1], [3, 4, 5])).toEqual({ n: 3, spearman: null, kendall: null, reason: 'constant-x' });
    expect(rankCorrelation([1, 2, 3], [4, 4, 4])).toEqual({ n: 3, spearman: null, kendall: null, reason: 'constant-y' });
    const x = [0.3, 1.9, 1.1, 2.5, 0.8, 3.3, 2.0, 2.9];
    const y = [1.0, 1.4, 0.9, 2.2, 1.8, 2.1, 1.2, 2.6];
    const opts = { permutations: 3000, seed: 4 };
    expect(rankCorrelation(x, y, opts)).toEqual({ n: 8, spearman: spearmanTest(x, y, opts), kendall: kendallTest(x, y, opts) });
    expect(rankCorrelation([1, 2, 3], [3, 2, 1]).spearman).toEqual({ statistic: -1, pValue: 1 / 3, exact: true, permutations: 6 });
    expect(() => rankCorrelation([1, 2, 3], [1, 2])).toThrow(/length/);
    expect(() => rankCorrelation([1, 2], [1, 2], { permutations: 1.5 })).toThrow(/permutations/);
  });
});

const missing = pythonMissing(['numpy', 'scipy.stats']);
if (missing) console.warn(`skipping rank scipy parity: ${missing}`);

describe('rank statistics parity with scipy', () => {
  (missing ? it.skip : it)('spearmanr and kendalltau (tau-b) on random data with ties', () => {
    const rng = mulberry32(99);
    const cases: { x: number[]; y: number[] }[] = [];
    for (const n of [3, 5, 10, 30, 100, 300]) {
      for (const levels of [3, 8, 1000]) {
        const x = Array.from({ length: n }, () => Math.floor(rng() * levels));
        const y = x.map((v) => Math.floor((v + rng() * levels) / 2));
        cases.push({ x, y });
      }
      cases.push({ x: Array.from({ length: n }, () => rng()), y: Array.from({ length: n }, () => rng()) });
    }
    cases.push({ x: [1, 2, 3, 4], y: [7, 7, 7, 7] }); // constant: NaN on both sides
    // hand-made tied sets (several ties in both variables)
    cases.push({ x: [1, 2, 2, 3, 4, 4, 4, 5], y: [2, 1, 3, 3, 5, 4, 6, 6] });
    cases.push({ x: [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7], y: [0.3, 0.1, 0.5, 0.5, 0.2, 0.9, 0.7, 0.7, 1.1, 0.8, 1.0, 1.2] });
    const script = `
import json, sys, warnings
import numpy as np
from scipy.stats import spearmanr, kendalltau
warnings.simplefilter('ignore')
def f(v):
    v = float(v)
    return None if np.isnan(v) else v
out = []
for c in json.load(sys.stdin):
    out.append([f(spearmanr(c['x'], c['y'])[0]), f(kendalltau(c['x'], c['y'])[0])])
print(json.dumps(out))
`;
    const ref = runPythonJson<[number | null, number | null][]>(script, JSON.stringify(cases));
    let maxRho = 0;
    let maxTau = 0;
    cases.forEach((c, i) => {
      const rho = spearmanRho(c.x, c.y);
      const tau = kendallTauB(c.x, c.y);
      const [rRho, rTau] = ref[i];
      if (rRho === null) expect(Number.isNaN(rho)).toBe(true);
      else {
        maxRho = Math.max(maxRho, Math.abs(rho - rRho));
        expect(Math.abs(rho - rRho)).toBeLessThan(1e-12);
      }
      if (rTau === null) expect(Number.isNaN(tau)).toBe(true);
      else {
        maxTau = Math.max(maxTau, Math.abs(tau - rTau));
        expect(Math.abs(tau - rTau)).toBeLessThan(1e-12);
      }
    });
    console.log(`scipy parity over ${cases.length} cases: max abs diff rho ${maxRho.toExponential(2)}, tau-b ${maxTau.toExponential(2)}`);
  });
  (missing ? it.skip : it)('exact permutation p-values of rho and tau-b match scipy (permutation_test, kendalltau exact)', () => {
    // tie-free sets: scipy enumerates all n! pairings when n! <= 9999 and then its two-sided p
    // (2 * the smaller one-sided p) equals ours (|r| >= |r_obs|) because the null is symmetric.
    // With ties the two definitions differ, so tied sets are compared on coefficients above.
    const sets: [number[], number[], 'pairings' | 'kendall-exact'][] = [
      [[3.1, 1.2, 4.8, 2.2, 5.0, 0.7], [2.0, 1.1, 3.9, 2.5, 4.1, 1.5], 'pairings'],
      [[0.61, 0.55, 0.72, 0.58, 0.7], [77.6, 56.5, 71.6, 69.8, 84.1], 'pairings'],
      [[5, 4, 3, 1, 2], [0.1, 0.4, 0.2, 0.5, 0.3], 'pairings'],
      // n = 8: scipy's exact Kendall null distribution against our enumeration of 40,320 pairings
      [[0.3, 1.9, 1.1, 2.5, 0.8, 3.3, 2.0, 2.9], [1.0, 1.4, 0.9, 2.2, 1.8, 2.1, 1.2, 2.6], 'kendall-exact'],
    ];
    const script = `
import json, sys
from scipy import stats
out = []
for x, y, kind in json.load(sys.stdin):
    if kind == "kendall-exact":
        out.append([None, stats.kendalltau(x, y, method="exact").pvalue])
    else:
        pt = lambda f: stats.permutation_test((y,), lambda yp: f(x, yp)[0], permutation_type="pairings").pvalue
        out.append([pt(stats.spearmanr), pt(stats.kendalltau)])
print(json.dumps(out))
`;
    const ref = runPythonJson<[number | null, number][]>(script, JSON.stringify(sets));
    let maxDiff = 0;
    sets.forEach(([x, y, kind], i) => {
      const budget = { permutations: kind === 'kendall-exact' ? 50_000 : 10_000 };
      const k = kendallTest(x, y, budget);
      expect(k.exact).toBe(true);
      const diffs = [Math.abs(k.pValue - ref[i][1])];
      if (kind === 'pairings') {
        const s = spearmanTest(x, y, budget);
        expect(s.exact).toBe(true);
        diffs.push(Math.abs(s.pValue - ref[i][0]!));
      }
      maxDiff = Math.max(maxDiff, ...diffs);
    });
    console.log(`exact permutation p vs scipy over ${sets.length} sets: max abs diff ${maxDiff.toExponential(2)}`);
    expect(maxDiff).toBeLessThan(1e-12);
  });
});
