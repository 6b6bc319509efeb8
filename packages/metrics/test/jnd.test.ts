import { jndMap, jndPrecisionRecall, mulberry32, vocAveragePrecision } from '../src';
import { pythonMissing, runPythonJson } from './python';

describe('JND mAP', () => {
  it('perfect ranking (all "same" pairs closest) scores 1', () => {
    expect(jndMap([0.1, 0.2, 0.3, 0.4, 0.5], [1, 1, 0, 0, 0])).toBe(1);
    expect(jndMap([0.5, 0.1, 0.4, 0.2], [0, 1, 0, 1])).toBe(1);
  });

  it('worked 4-pair example: AP = 1/2 * 1 + 1/2 * 2/3 = 5/6', () => {
    // Sorted by distance: 0.1 same, 0.2 diff, 0.3 same, 0.4 diff.
    // TP 1,1,2,2  FP 0,1,1,2  recall .5,.5,1,1  precision 1,.5,2/3,.5
    // envelope over [0, r..., 1]: precision 1 up to recall .5, 2/3 up to recall 1.
    const d = [0.3, 0.1, 0.4, 0.2];
    const s = [1, 1, 0, 0];
    const pr = jndPrecisionRecall(d, s);
    expect(Array.from(pr.recall)).toEqual([0.5, 0.5, 1, 1]);
    expect(Array.from(pr.precision)).toEqual([1, 0.5, 2 / 3, 0.5]);
    expect(jndMap(d, s)).toBeCloseTo(5 / 6, 15);
  });

  it('worst ranking and soft labels by hand', () => {
    expect(jndMap([1, 2, 3], [0, 0, 1])).toBeCloseTo(1 / 3, 15);
    // soft: TP .5,1.5  FP .5,.5  recall 1/3,1  precision .5,.75 -> envelope .75 everywhere
    expect(jndMap([1, 2], [0.5, 1])).toBeCloseTo(0.75, 15);
  });

  it('breaks distance ties by input order (stable sort)', () => {
    expect(jndMap([1, 1], [0, 1])).toBeCloseTo(0.5, 15);
    expect(jndMap([1, 1], [1, 0])).toBe(1);
  });

  it('voc AP of a hand curve', () => {
    // mrec 0,.25,.75,1,1  mpre 0,1,.4,.3,0 -> envelope 1,1,.4,.3,0 -> .25*1 + .5*.4 + .25*.3
    expect(vocAveragePrecision([0.25, 0.75, 1], [1, 0.4, 0.3])).toBeCloseTo(0.25 + 0.5 * 0.4 + 0.25 * 0.3, 15);
  });

  it('rejects inputs without positives or with NaN', () => {
    expect(() => jndMap([1, 2], [0, 0])).toThrow(/no positive/);
    expect(() => jndMap([NaN, 2], [1, 0])).toThrow(/NaN/);
    expect(() => jndMap([1, 2], [1.5, 0])).toThrow(/same\[0\]/);
  });

  const missing = pythonMissing(['numpy']);
  if (missing) console.warn(`skipping JND numpy parity: ${missing}`);
  (missing ? it.skip : it)('matches a numpy transcription of LPIPS score_jnd_dataset/voc_ap on random soft data', () => {
    const rng = mulberry32(7);
    const cases = [5, 40, 300].map((n) => ({
      d: Array.from({ length: n }, () => rng()), // distinct almost surely, so sort order agrees
      s: Array.from({ length: n }, () => Math.round(rng() * 4) / 4),
    }));
    const script = `
import json, sys
import numpy as np
out = []
for c in json.load(sys.stdin):
    ds = np.array(c['d']); sames = np.array(c['s'])
    idx = np.argsort(ds)
    ss = sames[idx]
    tp = np.cumsum(ss); fp = np.cumsum(1 - ss); fn = np.sum(ss) - tp
    prec = tp / (tp + fp); rec = tp / (tp + fn)
    mrec = np.concatenate(([0.], rec, [1.])); mpre = np.concatenate(([0.], prec, [0.]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    out.append(float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])))
print(json.dumps(out))
`;
    const ref = runPythonJson<number[]>(script, JSON.stringify(cases));
    const diffs = cases.map((c, i) => Math.abs(jndMap(c.d, c.s) - ref[i]));
    console.log(`JND mAP vs numpy: max abs diff ${Math.max(...diffs).toExponential(2)} (refs ${ref.map((v) => v.toFixed(4)).join(', ')})`);
    for (const d of diffs) expect(d).toBeLessThan(1e-12);
  });
});
