import { delineationCounts, delineationScores, scoresFromCounts } from '../src';

// 3x3 tile, worked by hand. pred > 0.3 -> [1,0,0, 1,1,0, 0,1,0]; gt > 0.5 -> [1,1,0, 0,1,0, 0,0,1]
const pred = [0.9, 0.3, 0.1, 0.31, 0.5, 0.0, 0.2, 0.8, 0.29];
const gt = [1, 1, 0, 0, 1, 0, 0, 0, 1];

describe('delineation scores', () => {
  it('counts a tiny mask by hand (strict > threshold)', () => {
    // TP: 0, 4; FP: 3, 7; FN: 1 (0.3 is not > 0.3), 8
    expect(delineationCounts(pred, gt)).toEqual({ tp: 2, fp: 2, fn: 2 });
    const r = delineationScores([{ pred, gt }]);
    expect(r.completeness).toBeCloseTo(0.5, 15);
    expect(r.correctness).toBeCloseTo(0.5, 15);
    expect(r.quality).toBeCloseTo(1 / 3, 15);
  });

  it('inclusive thresholds count pred == 0.3 as road', () => {
    expect(delineationCounts(pred, gt, { inclusive: true })).toEqual({ tp: 3, fp: 2, fn: 1 });
    const r = delineationScores([{ pred, gt }], { inclusive: true });
    expect([r.completeness, r.correctness, r.quality]).toEqual([0.75, 0.6, 0.5]);
  });

  it('ground truth is thresholded at 0.5 strictly', () => {
    expect(delineationCounts([1, 1, 1], [0.5, 0.51, 0.49])).toEqual({ tp: 1, fp: 2, fn: 0 });
    expect(delineationCounts([0, 0], [0.5, 0.7], { gtThreshold: 0.6 })).toEqual({ tp: 0, fp: 0, fn: 1 });
  });

  it("0/0 cases count as 1 under the default 'one' policy", () => {
    expect(scoresFromCounts({ tp: 0, fp: 0, fn: 0 })).toEqual({ completeness: 1, correctness: 1, quality: 1 });
    expect(scoresFromCounts({ tp: 0, fp: 3, fn: 0 })).toEqual({ completeness: 1, correctness: 0, quality: 0 });
    expect(scoresFromCounts({ tp: 0, fp: 0, fn: 2 })).toEqual({ completeness: 0, correctness: 1, quality: 0 });
  });

  it('averages per image, not pooled; skip policy leaves undefined ratios out', () => {
    const empty = { pred: [0, 0, 0, 0], gt: [0, 0, 0, 0] }; // no road, none predicted
    const missed = { pred: [0, 0, 0, 0], gt: [1, 1, 0, 0] }; // road, none predicted
    const one = delineationScores([{ pred, gt }, empty, missed]);
    expect(one.completeness).toBeCloseTo((0.5 + 1 + 0) / 3, 15);
    expect(one.correctness).toBeCloseTo((0.5 + 1 + 1) / 3, 15);
    expect(one.quality).toBeCloseTo((1 / 3 + 1 + 0) / 3, 15);
    expect(one.counts[2]).toEqual({ tp: 0, fp: 0, fn: 2 });

    const skip = delineationScores([{ pred, gt }, empty, missed], { emptyPolicy: 'skip' });
    expect(skip.completeness).toBeCloseTo((0.5 + 0) / 2, 15);
    expect(skip.correctness).toBeCloseTo(0.5, 15); // only the first image predicts road
    expect(skip.quality).toBeCloseTo((1 / 3 + 0) / 2, 15);
    expect(Number.isNaN(skip.perImage[1].quality)).toBe(true);
    expect(Number.isNaN(delineationScores([empty], { emptyPolicy: 'skip' }).quality)).toBe(true);
  });

  it('rejects mismatched sizes and empty input', () => {
    expect(() => delineationCounts([0, 1], [0])).toThrow(/prediction/);
    expect(() => delineationScores([])).toThrow(/images/);
  });
});
