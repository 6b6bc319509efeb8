import * as path from 'node:path';
import { rankScores } from '@dpl/metrics';
import type { StoredCell } from '../store/results-store';
import type {
  Aggregate,
  Attribute,
  CellRecord,
  CorrelationRow,
  FailedCell,
  MeanRank,
  NetworkLookup,
  NetworkRow,
  PointAttributes,
  RankEntry,
  Report,
  UseCaseReport,
} from './model';
import { weightsLabel, weightsSummary } from './provenance';
import { correlate, mean, sampleStd } from './stats';

export interface AnalyseOptions {
  store: string;
  reportVersion: string;
  permutations: number;
  seed: number;
  counts: { done: number; failed: number; pending: number; running: number };
  generatedAt?: string;
}

/** The attributes the point-level correlations use, in report order. */
const POINT_ATTRIBUTES: Attribute[] = [
  'imagenetTop1',
  'relativeDepth',
  'convsBefore',
  'paramsUpTo',
  'receptiveField',
  'stride',
  'channels',
];
/** The attributes the network-level (best point per network) correlations use. */
const NETWORK_ATTRIBUTES: Attribute[] = ['imagenetTop1', 'paramsMillions'];

export const ATTRIBUTE_LABELS: Record<Attribute, string> = {
  imagenetTop1: 'ImageNet top-1 (%)',
  paramsMillions: 'network parameters (M)',
  relativeDepth: 'relative depth',
  convsBefore: 'convolutions before',
  paramsUpTo: 'parameters up to the point',
  receptiveField: 'receptive field (px)',
  stride: 'stride',
  channels: 'channels',
};

const uniq = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];
const sortedNums = (xs: Iterable<number>) => uniq(xs).sort((a, b) => a - b);

/** True when `a` is strictly better than `b` under the metric's direction. */
const better = (a: number, b: number, higherIsBetter: boolean) => (higherIsBetter ? a > b : a < b);

/** The row of cells whose loss used no loss network (the autoencoder's `loss: pixel`, the study's baseline). */
const BASELINE_ROW = 'pixel-loss baseline';
const isBaseline = (c: StoredCell) => (c.config.taskConfig as Record<string, unknown> | undefined)?.loss === 'pixel';

interface Prepared {
  cell: StoredCell;
  useCase: string;
  value: number | null;
}

/**
 * Builds the report from finished (and failed) cells. Pure apart from the lookup: the command
 * supplies the registry, tests may supply their own.
 */
export function analyse(done: StoredCell[], failedCells: StoredCell[], lookup: NetworkLookup, opts: AnalyseOptions): Report {
  const notes: string[] = [];
  const info = new Map<string, ReturnType<NetworkLookup>>();
  const network = (id: string) => {
    if (!info.has(id)) {
      const found = lookup(id);
      info.set(id, found);
      if (!found)
        notes.push(
          `backbone '${id}' is not installed here: its ImageNet top-1 and point attributes are unknown (left out of correlations)`,
        );
    }
    return info.get(id);
  };
  const pointAttrs = (backbone: string, name: string): PointAttributes | undefined => network(backbone)?.point(name);

  // a task run under several presets is several use cases, and so is one run on several data
  // roots (the autoencoder on STL-10 and on SVHN)
  const presets = new Map<string, Set<string>>();
  for (const c of done) (presets.get(c.task) ?? presets.set(c.task, new Set()).get(c.task)!).add(c.preset);
  const dataOf = (c: StoredCell) => (typeof c.config.data === 'string' ? path.basename(c.config.data) : 'synthetic');
  const roots = new Map<string, Set<string>>();
  for (const c of done) {
    const k = `${c.task}|${c.preset}`;
    (roots.get(k) ?? roots.set(k, new Set()).get(k)!).add(dataOf(c));
  }
  const useCaseOf = (c: StoredCell) =>
    (presets.get(c.task)!.size > 1 ? `${c.task} (${c.preset})` : c.task) +
    (roots.get(`${c.task}|${c.preset}`)!.size > 1 ? ` [${dataOf(c)}]` : '');

  // the same (use case, network, points, seed) finished twice under different configs: the latest wins
  const latest = new Map<string, StoredCell>();
  let superseded = 0;
  for (const c of done) {
    const key = [useCaseOf(c), isBaseline(c) ? BASELINE_ROW : c.backbone, c.points.join('+'), c.seed].join('|');
    const prev = latest.get(key);
    if (prev) superseded++;
    if (!prev || (c.finishedAt ?? '') >= (prev.finishedAt ?? '')) latest.set(key, c);
  }
  if (superseded)
    notes.push(
      `${superseded} finished cell(s) repeat a (use case, network, point, seed) with a different configuration; the most recent result of each is used (keep separate studies in separate stores)`,
    );

  const prepared: Prepared[] = [];
  for (const cell of latest.values()) prepared.push({ cell, useCase: useCaseOf(cell), value: null });
  // store order: sort by the original position
  const position = new Map(done.map((c, i) => [c.hash, i]));
  prepared.sort((a, b) => position.get(a.cell.hash)! - position.get(b.cell.hash)!);

  const useCaseIds = uniq(prepared.map((p) => p.useCase));
  const useCases: UseCaseReport[] = [];
  const records: CellRecord[] = [];
  for (const id of useCaseIds) {
    const group = prepared.filter((p) => p.useCase === id);
    const uc = analyseUseCase(id, group, pointAttrs, network, opts, notes);
    records.push(...uc.records);
    if (uc.report.networks.length) useCases.push(uc.report);
    else
      notes.push(`${id}: no finished cell has a value of '${uc.report.headline.metric}', so it has no tables (its cells are in the CSV)`);
  }

  const failed: FailedCell[] = failedCells.map((c) => ({
    task: c.task,
    preset: c.preset,
    backbone: c.backbone,
    points: c.points,
    seed: c.seed,
    attempts: c.attempts,
    error: c.error ?? '(no error recorded)',
    hash: c.hash,
  }));

  const randomNets = uniq(useCases.flatMap((u) => u.networks.filter((n) => n.random).map((n) => n.backbone)));
  if (randomNets.length)
    notes.unshift(
      `${randomNets.length} network(s) ran with RANDOM (untrained) weights: ${randomNets.join(', ')}. Their scores say nothing about the pretrained networks the study compares; run with cached torchvision weights (dpl weights pull paper) for the study's results`,
    );

  return {
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
    store: opts.store,
    reportVersion: opts.reportVersion,
    dplVersions: uniq(done.map((c) => c.dplVersion ?? 'unrecorded')).sort(),
    backends: uniq(done.map((c) => c.backend ?? 'unrecorded')).sort(),
    counts: opts.counts,
    permutations: opts.permutations,
    seed: opts.seed,
    useCases,
    meanRanks: meanRanks(
      useCases,
      (backbone) => weightsLabel(prepared.filter((p) => p.cell.backbone === backbone).map((p) => p.cell.provenance)).label,
    ),
    failed,
    notes,
    cells: records,
  };
}

function analyseUseCase(
  id: string,
  group: Prepared[],
  pointAttrs: (backbone: string, name: string) => PointAttributes | undefined,
  network: NetworkLookup,
  opts: AnalyseOptions,
  notes: string[],
): { report: UseCaseReport; records: CellRecord[] } {
  const first = group[0].cell;
  // the headline most cells name (all of them, unless the task changed between versions)
  const votes = new Map<string, { metric: string; higherIsBetter: boolean; n: number }>();
  for (const { cell } of group) {
    const h = cell.headline ?? { metric: Object.keys(cell.metrics ?? {})[0] ?? '?', higherIsBetter: true };
    const k = `${h.metric}|${h.higherIsBetter}`;
    const v = votes.get(k) ?? { ...h, n: 0 };
    v.n++;
    votes.set(k, v);
  }
  const top = [...votes.values()].sort((a, b) => b.n - a.n)[0];
  const headline = { metric: top.metric, higherIsBetter: top.higherIsBetter };
  if (votes.size > 1) notes.push(`${id}: cells disagree on the headline metric; '${headline.metric}' (the most common) is used`);

  // study columns (E1..E4) when every point is one of the study's points, else point names
  const allStudy = group.every(({ cell }) => cell.points.every((p) => pointAttrs(cell.backbone, p)?.paperIndex !== undefined));
  const columnOf = (cell: StoredCell) =>
    allStudy ? cell.points.map((p) => `E${pointAttrs(cell.backbone, p)!.paperIndex}`).join('+') : cell.points.join('+');
  const deepest = (cell: StoredCell): PointAttributes | null => {
    const attrs = cell.points.map((p) => pointAttrs(cell.backbone, p));
    if (attrs.some((a) => !a)) return null;
    return (attrs as PointAttributes[]).reduce((a, b) => (b.convsBefore >= a.convsBefore ? b : a));
  };

  const records: CellRecord[] = [];
  let missing = 0;
  for (const p of group) {
    const v = p.cell.metrics?.[headline.metric];
    p.value = typeof v === 'number' && Number.isFinite(v) ? v : null;
    if (p.value === null) missing++;
    const c = p.cell;
    records.push({
      useCase: id,
      task: c.task,
      preset: c.preset,
      backbone: isBaseline(c) ? BASELINE_ROW : c.backbone,
      points: c.points,
      column: columnOf(c),
      seed: c.seed,
      weights: weightsLabel([c.provenance]).label,
      backend: c.backend ?? 'unrecorded',
      dplVersion: c.dplVersion ?? 'unrecorded',
      seconds: c.seconds,
      headlineMetric: headline.metric,
      headline: p.value,
      metrics: c.metrics ?? {},
      splits: c.splits,
      hash: c.hash,
    });
  }
  if (missing)
    notes.push(`${id}: ${missing} finished cell(s) have no finite '${headline.metric}' and are left out of tables and statistics`);

  // aggregate seeds per (network, column), networks in store order; a cell that trains without
  // the loss network (the autoencoder's pixel baseline) is a reference row of its own
  const rowOf = (cell: StoredCell) => (isBaseline(cell) ? BASELINE_ROW : cell.backbone);
  const backbones = uniq(group.map((p) => rowOf(p.cell)));
  const columnsSeen: { key: string; sort: number[] }[] = [];
  const networks: NetworkRow[] = [];
  for (const backbone of backbones) {
    const mine = group.filter((p) => rowOf(p.cell) === backbone);
    const byColumn = new Map<string, Prepared[]>();
    for (const p of mine) {
      if (p.value === null) continue;
      const k = columnOf(p.cell);
      (byColumn.get(k) ?? byColumn.set(k, []).get(k)!).push(p);
      if (!columnsSeen.some((c) => c.key === k)) {
        const sort = allStudy
          ? p.cell.points.map((n) => pointAttrs(p.cell.backbone, n)!.paperIndex!)
          : [deepest(p.cell)?.relativeDepth ?? Infinity];
        columnsSeen.push({ key: k, sort });
      }
    }
    if (!byColumn.size) continue;
    const cells: Record<string, Aggregate> = {};
    for (const [column, ps] of byColumn) {
      const values = ps.map((p) => p.value!);
      const std = sampleStd(values);
      cells[column] = {
        backbone,
        column,
        points: ps[0].cell.points,
        seeds: ps.map((p) => p.cell.seed),
        values,
        mean: mean(values),
        std: Number.isFinite(std) ? std : null,
        attributes: backbone === BASELINE_ROW ? null : deepest(ps[0].cell),
      };
    }
    const best = Object.values(cells).reduce((a, b) => (better(b.mean, a.mean, headline.higherIsBetter) ? b : a));
    const w = weightsLabel(mine.map((p) => p.cell.provenance));
    const net = backbone === BASELINE_ROW ? undefined : network(backbone);
    networks.push({
      backbone,
      weights: w.label,
      random: w.random,
      pretrained: w.pretrained,
      backends: uniq(mine.map((p) => p.cell.backend ?? 'unrecorded')).sort(),
      imagenetTop1: net?.imagenetTop1 ?? null,
      paramsMillions: net?.paramsMillions ?? null,
      cells,
      best,
      rank: NaN,
    });
  }
  const lexi = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  };
  const columns = [...columnsSeen].sort((a, b) => lexi(a.sort, b.sort)).map((c) => c.key);

  const netRanks = rankScores(
    networks.map((n) => n.best.mean),
    { higherIsBetter: headline.higherIsBetter },
  );
  networks.forEach((n, i) => (n.rank = netRanks[i]));
  const networkRanking: RankEntry[] = networks
    .map((n) => ({
      rank: n.rank,
      backbone: n.backbone,
      column: n.best.column,
      points: n.best.points,
      mean: n.best.mean,
      weights: n.weights,
    }))
    .sort((a, b) => a.rank - b.rank);

  const aggregates = networks.flatMap((n) => columns.filter((c) => n.cells[c]).map((c) => n.cells[c]));
  const pointRanks = rankScores(
    aggregates.map((a) => a.mean),
    { higherIsBetter: headline.higherIsBetter },
  );
  const weightsOf = new Map(networks.map((n) => [n.backbone, n.weights]));
  const pointRanking: RankEntry[] = aggregates
    .map((a, i) => ({
      rank: pointRanks[i],
      backbone: a.backbone,
      column: a.column,
      points: a.points,
      mean: a.mean,
      weights: weightsOf.get(a.backbone)!,
    }))
    .sort((a, b) => a.rank - b.rank);

  const correlations: CorrelationRow[] = [];
  const perm = { permutations: opts.permutations, seed: opts.seed };
  // pairs whose attribute is unknown (uninstalled backbone) stay out
  const correlateKnown = (pairs: (readonly [number | null, number])[]) => {
    const known = pairs.filter((p): p is readonly [number, number] => p[0] !== null);
    return correlate(
      known.map(([x]) => x),
      known.map(([, y]) => y),
      perm,
    );
  };
  for (const attribute of NETWORK_ATTRIBUTES) {
    const pairs = networks.map((n) => [n[attribute as 'imagenetTop1' | 'paramsMillions'], n.best.mean] as const);
    correlations.push({ attribute, sample: 'networks', ...correlateKnown(pairs) });
  }
  const top1 = new Map(networks.map((n) => [n.backbone, n.imagenetTop1]));
  for (const attribute of POINT_ATTRIBUTES) {
    const xOf = (a: Aggregate): number | null =>
      attribute === 'imagenetTop1'
        ? (top1.get(a.backbone) ?? null)
        : ((a.attributes?.[attribute as keyof PointAttributes] as number | undefined) ?? null);
    correlations.push({ attribute, sample: 'points', ...correlateKnown(aggregates.map((a) => [xOf(a), a.mean] as const)) });
  }

  const report: UseCaseReport = {
    id,
    task: first.task,
    preset: first.preset,
    headline,
    columnKind: allStudy ? 'study' : 'points',
    columns,
    seeds: sortedNums(group.map((p) => p.cell.seed)),
    backends: uniq(group.map((p) => p.cell.backend ?? 'unrecorded')).sort(),
    dplVersions: uniq(group.map((p) => p.cell.dplVersion ?? 'unrecorded')).sort(),
    weights: weightsSummary(networks),
    networks,
    networkRanking,
    pointRanking,
    correlations,
    cellCount: group.length,
  };
  return { report, records };
}

/** The study's summary: each network's (and each network-point's) rank averaged over the use cases it ran in. */
function meanRanks(useCases: UseCaseReport[], weightsOf: (backbone: string) => string): { networks: MeanRank[]; points: MeanRank[] } {
  const collect = (entries: (uc: UseCaseReport) => RankEntry[], keyOf: (e: RankEntry) => string, pointLevel: boolean): MeanRank[] => {
    const acc = new Map<string, MeanRank>();
    for (const uc of useCases)
      for (const e of entries(uc)) {
        const key = keyOf(e);
        const m = acc.get(key) ?? {
          key,
          backbone: e.backbone,
          column: pointLevel ? e.column : null,
          meanRank: 0,
          useCases: 0,
          ranks: {},
          weights: weightsOf(e.backbone),
        };
        m.ranks[uc.id] = e.rank;
        acc.set(key, m);
      }
    return [...acc.values()]
      .map((m) => {
        const rs = Object.values(m.ranks);
        return { ...m, meanRank: mean(rs), useCases: rs.length };
      })
      .sort((a, b) => a.meanRank - b.meanRank || b.useCases - a.useCases || a.key.localeCompare(b.key));
  };
  return {
    networks: collect(
      (uc) => uc.networkRanking,
      (e) => e.backbone,
      false,
    ),
    points: collect(
      (uc) => uc.pointRanking,
      (e) => `${e.backbone} ${e.column}`,
      true,
    ),
  };
}
