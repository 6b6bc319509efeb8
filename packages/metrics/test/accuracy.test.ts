import { argmaxAccuracy, argmaxRows } from '../src';

describe('argmax accuracy', () => {
  it('computes a hand example, first maximum wins ties', () => {
    const logits = [1, 2, 0, /* */ 5, 5, 1, /* */ 0, 0, -1];
    expect(Array.from(argmaxRows(logits, 3))).toEqual([1, 0, 0]);
    expect(argmaxAccuracy(logits, [1, 0, 2], 3)).toBeCloseTo(2 / 3, 15);
    expect(argmaxAccuracy(new Float32Array(logits), [1, 1, 0], 3)).toBeCloseTo(2 / 3, 15);
  });

  it('NaN never wins', () => {
    expect(Array.from(argmaxRows([NaN, -3, -4, NaN, NaN, NaN], 3))).toEqual([1, 0]);
  });

  it('validates shapes and labels', () => {
    expect(() => argmaxAccuracy([1, 2, 3], [0], 2)).toThrow(/multiple of 2/);
    expect(() => argmaxAccuracy([1, 2], [0, 1], 2)).toThrow(/labels/);
    expect(() => argmaxAccuracy([1, 2], [2], 2)).toThrow(/labels\[0\]/);
  });
});
