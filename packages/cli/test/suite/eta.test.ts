/**
 * The grid ETA: per-cell estimates from this run's cells of the same task, preset and backbone,
 * then the same task and preset, then earlier runs in the store, then this run's overall mean;
 * running cells count what is left of their estimate; an ETA priced by other tasks' cells is rough.
 */
import { EtaEstimator } from '../../src/run/eta';

const cell = (hash: string, task: string, backbone = 'vgg16', preset = 'quick') => ({ hash, task, preset, backbone });
const CELLS = [
  cell('s1', 'similarity'),
  cell('s2', 'similarity'),
  cell('s3', 'similarity', 'alexnet'),
  cell('r1', 'super-resolution'),
  cell('r2', 'super-resolution'),
  cell('r3', 'super-resolution', 'alexnet'),
];

describe('EtaEstimator', () => {
  it('knows nothing before a cell finishes (without a prior)', () => {
    const e = new EtaEstimator(CELLS);
    expect(e.cellSeconds('r1')).toBeUndefined();
    expect(e.remaining(['r1'], new Map(), 2)).toBeUndefined();
  });

  it('does not price the slow task by the fast one once both have a result', () => {
    const e = new EtaEstimator(CELLS);
    e.record('s1', 5);
    // only similarity known: every cell falls back to the overall mean
    expect(e.cellSeconds('r2')).toBe(5);
    expect(e.remaining(['s2', 'r2'], new Map(), 1)).toEqual({ seconds: 10, rough: true });
    expect(EtaEstimator.text(e.remaining(['s2', 'r2'], new Map(), 1))).toBe(' ETA ~10s');
    e.record('r1', 100);
    expect(e.cellSeconds('s2')).toBe(5); // same task, preset, backbone
    expect(e.cellSeconds('r2')).toBe(100);
    expect(e.cellSeconds('r3')).toBe(100); // same task and preset, other backbone
    e.record('s3', 3);
    expect(e.cellSeconds('s3')).toBe(3);
    expect(e.cellSeconds('s2')).toBe(5);
    // s2 (5 s) and two super-resolution cells (100 s each) on 2 slots
    expect(e.remaining(['s2', 'r2', 'r3'], new Map(), 2)).toEqual({ seconds: (5 + 100 + 100) / 2, rough: false });
    expect(EtaEstimator.text(e.remaining(['s2', 'r2', 'r3'], new Map(), 2))).toBe(' ETA 1m43s');
  });

  it('uses earlier runs (the dry-run estimate) until this run has its own figures', () => {
    const prior = new Map<string, number | undefined>([
      ['s1', 4],
      ['s2', 4],
      ['s3', 4],
      ['r1', 60],
      ['r2', 60],
      ['r3', undefined],
    ]);
    const e = new EtaEstimator(CELLS, prior);
    expect(e.remaining(['s1', 'r1', 'r2'], new Map(), 1)).toEqual({ seconds: 124, rough: false });
    expect(e.remaining(['r3'], new Map(), 1)).toBeUndefined();
    e.record('r1', 90);
    expect(e.cellSeconds('r2')).toBe(90); // this run's figure beats the prior
    expect(e.cellSeconds('r3')).toBe(90);
  });

  it('a running cell counts what is left of its estimate, at least a tenth of it', () => {
    const e = new EtaEstimator(CELLS);
    e.record('r1', 100);
    expect(e.remaining([], new Map([['r2', 30]]), 1)?.seconds).toBe(70);
    expect(e.remaining([], new Map([['r2', 500]]), 1)?.seconds).toBe(10);
    expect(e.remaining(['r3'], new Map([['r2', 30]]), 2)?.seconds).toBe(85);
  });

  it('ignores hashes of other grids and non-finite times', () => {
    const e = new EtaEstimator(CELLS);
    e.record('elsewhere', 7);
    e.record('s1', Number.NaN);
    expect(e.cellSeconds('s1')).toBeUndefined();
    expect(e.cellSeconds('elsewhere')).toBeUndefined();
  });

  it('formats durations: seconds, minutes with two-digit seconds, hours', () => {
    expect([5, 59.6, 60, 125, 3599.6, 5400].map((s) => EtaEstimator.text({ seconds: s, rough: false }))).toEqual([
      ' ETA 5s',
      ' ETA 1m00s',
      ' ETA 1m00s',
      ' ETA 2m05s',
      ' ETA 60m00s',
      ' ETA 1.5h',
    ]);
    expect(EtaEstimator.text(undefined)).toBe('');
  });
});
