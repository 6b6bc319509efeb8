/** Seeded example order: reproducible, each index once per epoch, split sizes. */
import { batchesPerEpoch, epochBatches, epochOrder, splitTrainVal, toBatches } from '../../src/train/data-order';

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('data order', () => {
  it('gives the same order for the same seed and epoch, another for another seed or epoch', () => {
    expect(epochOrder(100, 42, 0)).toEqual(epochOrder(100, 42, 0));
    expect(epochOrder(100, 42, 0)).not.toEqual(epochOrder(100, 43, 0));
    expect(epochOrder(100, 42, 0)).not.toEqual(epochOrder(100, 42, 1));
    expect(epochOrder(100, 42, 0)).not.toEqual(range(100));
  });

  it('visits every index exactly once per epoch, in batches', () => {
    for (const [n, bs] of [
      [103, 8],
      [64, 8],
      [5, 7],
    ]) {
      for (let epoch = 0; epoch < 3; epoch++) {
        const b = epochBatches(n, bs, 9, epoch);
        expect(b.length).toBe(batchesPerEpoch(n, bs));
        expect(b.slice(0, -1).every((x) => x.length === bs)).toBe(true);
        expect(sorted(b.flat())).toEqual(range(n));
      }
    }
  });

  it('drops the last short batch only with dropLast', () => {
    const order = range(10);
    expect(toBatches(order, 4).map((b) => b.length)).toEqual([4, 4, 2]);
    expect(toBatches(order, 4, true).map((b) => b.length)).toEqual([4, 4]);
    expect(batchesPerEpoch(10, 4, true)).toBe(2);
  });

  it('splits 20% for validation, disjoint, covering, reproducible', () => {
    for (const n of [1000, 101, 7]) {
      const s = splitTrainVal(n, 0.2, 5);
      expect(s.val.length).toBe(Math.round(n * 0.2));
      expect(s.train.length).toBe(n - s.val.length);
      expect(sorted([...s.train, ...s.val])).toEqual(range(n));
      expect(splitTrainVal(n, 0.2, 5)).toEqual(s);
    }
    const a = splitTrainVal(1000, 0.2, 5).val,
      b = splitTrainVal(1000, 0.2, 6).val;
    expect(a).not.toEqual(b);
    // not simply the first or last fifth
    expect(a).not.toEqual(range(200));
    expect(a).not.toEqual(range(200).map((i) => i + 800));
    expect(splitTrainVal(3, 0.1, 1).val.length).toBe(1); // at least one when asked for any
    expect(() => splitTrainVal(10, 1, 1)).toThrow(/validation fraction/);
  });
});
