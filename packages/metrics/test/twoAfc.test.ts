import { meanOverSplits, twoAfcScore, twoAfcScores } from '../src';

describe('2AFC', () => {
  it('scores each triplet by hand: p0 preferred, p1 preferred, exact tie', () => {
    const s = twoAfcScores([1, 2, 3], [2, 1, 3], [0.25, 0.25, 0.4]);
    expect(Array.from(s)).toEqual([0.75, 0.25, 0.5]);
    expect(twoAfcScore([1, 2, 3], [2, 1, 3], [0.25, 0.25, 0.4])).toBeCloseTo(0.5, 15);
  });

  it('all distances tied scores 0.5 whatever the judges say', () => {
    expect(twoAfcScore([0.3, 0.7, 1], [0.3, 0.7, 1], [0, 1, 0.6])).toBe(0.5);
  });

  it('all distances different and agreeing with unanimous judges scores 1, disagreeing 0', () => {
    const d0 = [0.1, 0.5, 0.2, 0.9];
    const d1 = [0.2, 0.4, 0.3, 0.1];
    const agree = [0, 1, 0, 1]; // humans chose the closer image
    expect(twoAfcScore(d0, d1, agree)).toBe(1);
    expect(
      twoAfcScore(
        d0,
        d1,
        agree.map((j) => 1 - j),
      ),
    ).toBe(0);
  });

  it('unweighted mean over splits ignores split sizes', () => {
    expect(meanOverSplits({ traditional: 0.7, cnn: 0.8, superres: 0.6 })).toBeCloseTo(0.7, 15);
    expect(meanOverSplits([0.5, 1])).toBe(0.75);
    expect(() => meanOverSplits({})).toThrow(/no split/);
  });

  it('rejects mismatched lengths and NaN', () => {
    expect(() => twoAfcScores([1, 2], [1], [0, 0])).toThrow(/d1/);
    expect(() => twoAfcScores([NaN], [1], [0])).toThrow(/NaN/);
  });
});
