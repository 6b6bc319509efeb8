import { stringify } from 'csv-stringify/sync';
import type { Report } from './model';

/**
 * RFC 4180 through csv-stringify: a field is quoted when it holds a comma, quote or line break
 * (a lone CR or LF too, which csv-stringify would leave bare with CRLF records); null, undefined
 * and non-finite numbers are empty fields.
 */
const toCsv = (rows: (string | number | null | undefined)[][]): string =>
  stringify(rows, {
    record_delimiter: '\r\n',
    quoted_match: /[\r\n]/,
    cast: { number: (v) => (Number.isFinite(v) ? String(v) : '') },
  });

/**
 * One row per finished cell (every seed, full precision): identification, provenance, the
 * headline, then one column per metric name seen in any cell (empty where a task lacks it).
 */
export function renderCsv(r: Report): string {
  const metrics: string[] = [];
  for (const c of r.cells) for (const k of Object.keys(c.metrics)) if (!metrics.includes(k)) metrics.push(k);
  const header = [
    'use_case',
    'task',
    'preset',
    'backbone',
    'point',
    'column',
    'seed',
    'weights',
    'backend',
    'dpl_version',
    'seconds',
    'headline_metric',
    'headline',
    ...metrics,
  ];
  const rows = r.cells.map((c) => [
    c.useCase,
    c.task,
    c.preset,
    c.backbone,
    c.points.join('+'),
    c.column,
    c.seed,
    c.weights,
    c.backend,
    c.dplVersion,
    c.seconds,
    c.headlineMetric,
    c.headline,
    ...metrics.map((m) => c.metrics[m] ?? null),
  ]);
  return toCsv([header, ...rows]);
}
