import { averageRanks, kendallTauB, kendallTest, meanRank, mulberry32, rankByScore, spearmanRho, spearmanTest } from '../src';
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
    expect(() => averageRanks([1, NaN])).toThrow(/NaN/);
  });

  it('rank by score: 1 = best, ties averaged, lower-is-better option', () => {
    expect(rankByScore({ vgg16: 0.7, alexnet: 0.6, resnet18: 0.7 })).toEqual({ vgg16: 1.5, alexnet: 3, resnet18: 1.5 });
    expect(rankByScore({ a: 0.1, b: 0.3, c: 0.2 }, { higherIsBetter: false })).toEqual({ a: 1, b: 3, c: 2 });
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
    expect(Number.isNaN(spearmanTest([1, 2, 3], [5, 5, 5]).pValue)).toBe(true);
  });
});

describe('permutation p-values', () => {
  // n = 7 with ties: the exact permutation distribution has 5040 equally likely arrangements.
  const x = [1, 2, 2, 3, 4, 5, 6];
  const y = [2, 1, 3, 3, 6, 4, 5];
  const perms = permutations(7);

  for (const [name, stat, test] of [
    ['spearman', spearmanRho, spearmanTest],
    ['kendall', kendallTauB, kendallTest],
  ] as const) {
    it(`${name}: Monte Carlo p agrees with full enumeration`, () => {
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
      const exact = hits / perms.length;
      const r = test(x, y, { permutations: 10000, seed: 11 });
      expect(r.statistic).toBe(stat(x, y));
      const sd = Math.sqrt((exact * (1 - exact)) / 10000);
      console.log(
        `${name}: stat ${r.statistic.toFixed(4)}, exact p ${exact.toFixed(4)}, permutation p ${r.pValue.toFixed(4)} (sd ${sd.toFixed(4)})`,
      );
      expect(exact).toBeGreaterThan(0.01); // a non-trivial p, so the check means something
      expect(Math.abs(r.pValue - exact)).toBeLessThan(4 * sd + 2e-4);
      expect(test(x, y, { permutations: 10000, seed: 11 }).pValue).toBe(r.pValue); // seeded
    });
  }

  it('a perfect monotone relation over 12 items gets the smallest attainable p', () => {
    const a = Array.from({ length: 12 }, (_, i) => i);
    const b = a.map((v) => v * v);
    // P(|stat| = 1) = 2/12! ~ 4e-9, so no permutation matches: p = 1/(n_perm + 1)
    expect(spearmanTest(a, b, { permutations: 2000 }).pValue).toBe(1 / 2001);
    expect(kendallTest(a, b, { permutations: 2000 }).pValue).toBe(1 / 2001);
  });

  it('56 networks x 10000 permutations runs quickly', () => {
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
    expect(s.pValue).toBeLessThan(0.01);
    expect(ms).toBeLessThan(5000);
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
});
