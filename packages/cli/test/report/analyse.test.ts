import { analyse } from '../../src/report/analyse';
import type { NetworkLookup, PointAttributes } from '../../src/report/model';
import type { StoredCell } from '../../src/store/results-store';

// a made-up network: points a (E1), b (E2), c (not a study point)
const attrs: Record<string, PointAttributes> = {
  a: { name: 'a', paperIndex: 1, relativeDepth: 0.25, convsBefore: 1, paramsUpTo: 10, receptiveField: 3, stride: 1, channels: 8 },
  b: { name: 'b', paperIndex: 2, relativeDepth: 0.5, convsBefore: 2, paramsUpTo: 20, receptiveField: 5, stride: 2, channels: 16 },
  c: { name: 'c', relativeDepth: 1, convsBefore: 4, paramsUpTo: 40, receptiveField: 9, stride: 4, channels: 32 },
};
const lookup: NetworkLookup = (id) =>
  id === 'ghost' ? undefined : { imagenetTop1: id === 'n1' ? 60 : 70, paramsMillions: 1, point: (p) => attrs[p] };

let n = 0;
function cell(task: string, backbone: string, points: string[], value: number | null, extra: Partial<StoredCell> = {}): StoredCell {
  n++;
  return {
    hash: `h${n}`,
    suite: 's',
    task,
    backbone,
    points,
    preset: 'quick',
    seed: 0,
    config: {},
    status: 'done',
    owner: null,
    attempts: 1,
    startedAt: null,
    finishedAt: `2025-01-01T00:00:${String(n).padStart(2, '0')}Z`,
    seconds: 1,
    metrics: value === null ? { other: 1 } : { score: value },
    splits: null,
    headline: { metric: 'score', higherIsBetter: true },
    provenance: { kind: 'random', seed: 0 },
    backend: 'cpu',
    dplVersion: '0.1.0',
    error: null,
    detail: null,
    ...extra,
  };
}
const opts = { store: 'x', reportVersion: '0.1.0', permutations: 100, seed: 0, counts: { done: 0, failed: 0, pending: 0, running: 0 } };

describe('analyse', () => {
  it('combined study points become an E1+E2 column described by the deepest point', () => {
    const r = analyse([cell('t', 'n1', ['a'], 0.5), cell('t', 'n1', ['a', 'b'], 0.7)], [], lookup, opts);
    const u = r.useCases[0];
    expect(u.columnKind).toBe('study');
    expect(u.columns).toEqual(['E1', 'E1+E2']);
    expect(u.networks[0].cells['E1+E2'].attributes?.name).toBe('b');
    expect(u.networks[0].best.column).toBe('E1+E2');
  });

  it('a non-study point switches the use case to point-name columns, ordered by depth', () => {
    const r = analyse([cell('t', 'n1', ['c'], 0.3), cell('t', 'n1', ['a'], 0.2), cell('t', 'n2', ['b'], 0.1)], [], lookup, opts);
    expect(r.useCases[0].columnKind).toBe('points');
    expect(r.useCases[0].columns).toEqual(['a', 'b', 'c']);
  });

  it('a repeated cell keeps the latest result and says so; a missing headline is left out and noted', () => {
    const r = analyse([cell('t', 'n1', ['a'], 0.1), cell('t', 'n1', ['a'], 0.9), cell('t', 'n1', ['b'], null)], [], lookup, opts);
    const u = r.useCases[0];
    expect(u.networks[0].cells.E1.values).toEqual([0.9]);
    expect(u.networks[0].cells.E2).toBeUndefined();
    expect(r.notes.join('\n')).toMatch(/1 finished cell\(s\) repeat/);
    expect(r.notes.join('\n')).toMatch(/t: 1 finished cell\(s\) have no finite 'score'/);
  });

  it('an uninstalled backbone still gets tables; its attributes are unknown and it is out of correlations', () => {
    const r = analyse([cell('t', 'n1', ['a'], 0.1), cell('t', 'n2', ['a'], 0.2), cell('t', 'ghost', ['a'], 0.3)], [], lookup, opts);
    const u = r.useCases[0];
    expect(u.columnKind).toBe('points'); // ghost's point is not known to be a study point
    expect(u.networkRanking.map((e) => e.backbone)).toEqual(['ghost', 'n2', 'n1']);
    expect(u.correlations.find((c) => c.attribute === 'imagenetTop1' && c.sample === 'networks')!.n).toBe(2);
    expect(r.notes.join('\n')).toMatch(/backbone 'ghost' is not installed/);
  });

  it('one task on several data roots is several use cases; a pixel-loss cell is the reference row of its data set (docs/PROTOCOL.md section 6)', () => {
    const stl = { config: { data: '/d/stl10', taskConfig: { loss: 'perceptual' } } };
    const svhn = { config: { data: '/d/svhn', taskConfig: { loss: 'perceptual' } } };
    const pixel = { config: { data: '/d/stl10', taskConfig: { loss: 'pixel' } } };
    const r = analyse(
      [
        cell('ae', 'n1', ['a'], 0.5, stl),
        cell('ae', 'n1', ['a'], 0.6, svhn),
        cell('ae', 'n2', ['b'], 0.4, stl),
        // the baseline ran on n1's point a: it must neither replace n1's cell nor borrow n1's attributes
        cell('ae', 'n1', ['a'], 0.3, pixel),
      ],
      [],
      lookup,
      opts,
    );
    expect(r.useCases.map((u) => u.id)).toEqual(['ae [stl10]', 'ae [svhn]']);
    const u = r.useCases[0];
    expect(u.networks.map((x) => x.backbone)).toEqual(['n1', 'n2', 'pixel-loss baseline']);
    expect(u.columnKind).toBe('study');
    const base = u.networks[2];
    expect(base.cells.E1.mean).toBe(0.3);
    expect(base.cells.E1.attributes).toBeNull();
    expect(base.imagenetTop1).toBeNull();
    expect(u.networks[0].cells.E1.values).toEqual([0.5]);
    expect(r.notes.join('\n')).not.toMatch(/repeat|not installed/);
    expect(r.cells.filter((c) => c.backbone === 'pixel-loss baseline').map((c) => c.headline)).toEqual([0.3]);
  });

  it('a use case without any headline value has no tables but keeps its cells', () => {
    const r = analyse([cell('t', 'n1', ['a'], 0.1), cell('u', 'n1', ['a'], null)], [], lookup, opts);
    expect(r.useCases.map((u) => u.id)).toEqual(['t']);
    expect(r.cells.map((c) => c.useCase)).toEqual(['t', 'u']);
    expect(r.notes.join('\n')).toMatch(/u: no finished cell has a value of 'score'/);
  });

  it('a task under two presets is two use cases', () => {
    const r = analyse([cell('t', 'n1', ['a'], 0.1), cell('t', 'n1', ['a'], 0.2, { preset: 'paper' })], [], lookup, opts);
    expect(r.useCases.map((u) => u.id)).toEqual(['t (quick)', 't (paper)']);
  });
});
