import type { Report } from './model';

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
const field = (v: string | number | null | undefined): string => {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

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
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}
