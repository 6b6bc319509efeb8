/**
 * The report as format-neutral sections of tables; markdown.ts, html.ts and latex.ts render the
 * same tables so every format shows the same numbers.
 */
import type { RankEntry, Report, UseCaseReport } from './model';
import {
  attributeLabel,
  bestLabel,
  coef,
  direction,
  meanRank,
  meanStd,
  num,
  permutationLine,
  pointLegend,
  provenanceLine,
  pValue,
  rank,
  reportProvenanceLine,
  sampleLabel,
  seedsLine,
} from './format';

export type TableCell = string | { text: string; bold?: boolean; hint?: string };

export interface Table {
  id: string;
  title: string;
  header: string[];
  /** 'l' or 'r' per column. */
  align: ('l' | 'r')[];
  rows: TableCell[][];
  /** Lines under the table: provenance (weights, backend, dpl), legends, method notes. */
  caption: string[];
  /** Rows a compact format (LaTeX) may keep; the rest is in the CSV / JSON. */
  compactRows?: number;
}

export interface Section {
  id: string;
  heading: string;
  intro: string[];
  tables: Table[];
  /** Set for a use case's section: its charts go here. */
  useCase?: UseCaseReport;
}

export interface ReportDocument {
  title: string;
  meta: string[];
  notes: string[];
  sections: Section[];
}

export const cellText = (c: TableCell) => (typeof c === 'string' ? c : c.text);
const slug = (s: string) =>
  s
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();

function useCaseSection(uc: UseCaseReport, r: Report): Section {
  const id = slug(uc.id);
  const m = uc.headline.metric;
  const prov = provenanceLine(uc);
  const grid: Table = {
    id: `${id}-grid`,
    title: `${uc.id}: ${m} per network and extraction point`,
    header: ['network', 'weights', ...uc.columns, 'best point', 'rank'],
    align: ['l', 'l', ...uc.columns.map(() => 'r' as const), 'l', 'r'],
    rows: uc.networks.map((n) => [
      n.backbone,
      n.weights,
      ...uc.columns.map((c): TableCell => {
        const a = n.cells[c];
        if (!a) return '';
        return { text: meanStd(a), bold: n.best === a, hint: a.points.join('+') };
      }),
      bestLabel(n.best, uc),
      rank(n.rank),
    ]),
    caption: [
      `${m}, ${direction(uc)}; ${seedsLine(uc)}; best point of each network in bold.`,
      prov,
      ...(uc.columnKind === 'study' ? [`E1..E4 are each network's four study points: ${pointLegend(uc).join('; ')}.`] : []),
    ],
  };
  // the network and the point ranking differ only in id, title, third column and length
  const ranking = (entries: RankEntry[], kind: string, title: string, third: string): Table => ({
    id: `${id}-${kind}-ranking`,
    title: `${uc.id}: ${title}`,
    header: ['rank', 'network', third, m, 'weights'],
    align: ['r', 'l', 'l', 'r', 'l'],
    rows: entries.map((e) => [
      rank(e.rank),
      e.backbone,
      uc.columnKind === 'study' ? `${e.column} (${e.points.join('+')})` : e.points.join('+'),
      num(e.mean),
      e.weights,
    ]),
    caption: [`Ranked ${uc.headline.higherIsBetter ? 'descending' : 'ascending'} (${direction(uc)}); ties share the mean rank.`, prov],
  });
  const networks = ranking(uc.networkRanking, 'network', 'networks ranked by their best point', 'best point');
  const points: Table = { ...ranking(uc.pointRanking, 'point', 'every network x point ranked', 'point'), compactRows: 15 };
  const corr: Table = {
    id: `${id}-correlations`,
    title: `${uc.id}: correlation of ${m} with network and point attributes`,
    header: ['attribute', 'sample', 'n', "Spearman's rho", 'p', "Kendall's tau-b", 'p'],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
    rows: uc.correlations.map((c) => [
      attributeLabel(c),
      sampleLabel(c),
      String(c.n),
      c.spearman ? coef(c.spearman) : (c.note ?? 'n/a'),
      pValue(c.spearman),
      c.kendall ? coef(c.kendall) : 'n/a',
      pValue(c.kendall),
    ]),
    caption: [
      `Correlations of the raw ${m} (${direction(uc)}: a ${uc.headline.higherIsBetter ? 'positive' : 'negative'} coefficient means the attribute goes with better scores). A cell combining several points is described by its deepest point.`,
      permutationLine(r),
      prov,
    ],
  };
  return {
    id,
    heading: `Use case: ${uc.id}`,
    intro: [
      `Task ${uc.task}, preset ${uc.preset}; headline ${m} (${direction(uc)}); ${uc.networks.length} networks, ${uc.columns.length} points, ${uc.cellCount} finished cells; ${seedsLine(uc)}.`,
      prov,
    ],
    tables: [grid, networks, points, corr],
    useCase: uc,
  };
}

function meanRankSection(r: Report): Section {
  const ids = r.useCases.map((u) => u.id);
  const line = reportProvenanceLine(r);
  const networks: Table = {
    id: 'mean-rank-networks',
    title: 'Mean rank of each network across use cases',
    header: ['network', 'mean rank', 'use cases', ...ids, 'weights'],
    align: ['l', 'r', 'r', ...ids.map(() => 'r' as const), 'l'],
    rows: r.meanRanks.networks.map((m) => [
      m.backbone,
      meanRank(m.meanRank),
      `${m.useCases}/${ids.length}`,
      ...ids.map((id) => (id in m.ranks ? rank(m.ranks[id]) : '-')),
      m.weights,
    ]),
    caption: [
      "As in the study: networks ranked per use case by their best point, then the ranks averaged over the use cases each network ran in ('-': not run there).",
      line,
    ],
  };
  const points: Table = {
    id: 'mean-rank-points',
    title: 'Mean rank of each network x point across use cases',
    header: ['network', 'point', 'mean rank', 'use cases', ...ids],
    align: ['l', 'l', 'r', 'r', ...ids.map(() => 'r' as const)],
    rows: r.meanRanks.points.map((m) => [
      m.backbone,
      m.column ?? '',
      meanRank(m.meanRank),
      `${m.useCases}/${ids.length}`,
      ...ids.map((id) => (id in m.ranks ? rank(m.ranks[id]) : '-')),
    ]),
    caption: ['Point-level ranks (every network x point ranked per use case) averaged over use cases.', line],
    compactRows: 20,
  };
  return { id: 'mean-rank', heading: 'Mean rank across use cases', intro: [], tables: [networks, points] };
}

function failedSection(r: Report): Section {
  const oneLine = (s: string) => {
    const t = s.replace(/\s+/g, ' ').trim();
    return t.length > 300 ? `${t.slice(0, 297)}...` : t;
  };
  return {
    id: 'failed',
    heading: `Failed cells (${r.failed.length})`,
    intro: r.failed.length ? ['These cells recorded an error; they are in no table or statistic.'] : ['None.'],
    tables: r.failed.length
      ? [
          {
            id: 'failed-cells',
            title: 'Failed cells',
            header: ['task', 'preset', 'network', 'points', 'seed', 'attempts', 'error'],
            align: ['l', 'l', 'l', 'l', 'r', 'r', 'l'],
            rows: r.failed.map((f) => [
              f.task,
              f.preset,
              f.backbone,
              f.points.join('+'),
              String(f.seed),
              String(f.attempts),
              oneLine(f.error),
            ]),
            caption: [`Errors shortened to 300 characters; report.json has them in full.`],
          },
        ]
      : [],
  };
}

export function buildDocument(r: Report): ReportDocument {
  const c = r.counts;
  return {
    title: 'dpl report: deep perceptual loss networks',
    meta: [
      `Store ${r.store}: ${c.done} cells done, ${c.failed} failed, ${c.pending} pending, ${c.running} running.`,
      `Generated ${r.generatedAt} by dpl ${r.reportVersion}. ${reportProvenanceLine(r)}.`,
    ],
    notes: r.notes,
    sections: [...r.useCases.map((u) => useCaseSection(u, r)), meanRankSection(r), failedSection(r)],
  };
}
