import { mulberry32, shuffleInPlace } from '../src';

describe('mulberry32', () => {
  it('is deterministic per seed, differs across seeds, stays in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const va = Array.from({ length: 1000 }, () => a());
    const vb = Array.from({ length: 1000 }, () => b());
    const vc = Array.from({ length: 1000 }, () => c());
    expect(va).toEqual(vb);
    expect(va).not.toEqual(vc);
    expect(Math.min(...va)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...va)).toBeLessThan(1);
    const mean = va.reduce((s, v) => s + v, 0) / va.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05); // 1000 uniforms: sd of the mean ~0.009
  });

  it('shuffles to a permutation, every position reachable', () => {
    const rng = mulberry32(1);
    const seenFirst = new Set<number>();
    for (let k = 0; k < 200; k++) {
      const a = shuffleInPlace(rng, Float64Array.from([0, 1, 2, 3, 4]));
      expect(Array.from(a).sort()).toEqual([0, 1, 2, 3, 4]);
      seenFirst.add(a[0]);
    }
    expect(seenFirst.size).toBe(5);
  });
});
