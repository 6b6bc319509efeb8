import * as fs from 'node:fs';
import * as path from 'node:path';
import { DplError } from '@dpl/core';
import { useCaseCharts, type ChartSpec } from './charts';
import { renderCsv } from './csv';
import { renderHtml, type HtmlChart } from './html';
import { renderLatex } from './latex';
import { renderMarkdown } from './markdown';
import type { Report } from './model';
import { renderSvgs, scopeSvgIds, type Rendered } from './render-svg';
import { buildDocument } from './tables';

export const FORMATS = ['md', 'html', 'csv', 'json', 'tex'] as const;
export type ReportFormat = (typeof FORMATS)[number];
const FILE_NAMES: Record<ReportFormat, string> = {
  md: 'report.md',
  html: 'report.html',
  csv: 'report.csv',
  json: 'report.json',
  tex: 'report.tex',
};

/** `md,html` (or repeated --format) -> formats; an unknown name is the user's error. */
export function parseFormats(spec: string | string[] | undefined): ReportFormat[] {
  const names = ([] as string[])
    .concat(spec ?? FORMATS.join(','))
    .flatMap((s) => s.split(','))
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const bad = names.filter((n) => !(FORMATS as readonly string[]).includes(n));
  if (bad.length)
    throw new DplError(
      'E_ARGS',
      `unknown --format ${bad.map((b) => `'${b}'`).join(', ')}`,
      `use a comma list of ${FORMATS.join(', ')} (default: all)`,
    );
  if (!names.length) throw new DplError('E_ARGS', '--format names no format', `use a comma list of ${FORMATS.join(', ')}`);
  return [...new Set(names)] as ReportFormat[];
}

export interface WrittenReport {
  files: Partial<Record<ReportFormat, string>>;
  /** SVG files written for report.md, by chart id. */
  charts: string[];
  chartErrors: string[];
}

/**
 * Writes the requested formats into `outDir`. Charts (for md and html) are rendered once; a
 * chart that cannot be drawn is reported through `warn` and shown as a message on the page,
 * never a reason to lose the tables.
 */
export async function writeReport(
  report: Report,
  outDir: string,
  formats: ReportFormat[],
  warn: (msg: string) => void,
): Promise<WrittenReport> {
  fs.mkdirSync(outDir, { recursive: true });
  const doc = buildDocument(report);
  const written: WrittenReport = { files: {}, charts: [], chartErrors: [] };
  const put = (f: ReportFormat, text: string) => {
    const file = path.join(outDir, FILE_NAMES[f]);
    fs.writeFileSync(file, text);
    written.files[f] = file;
  };

  const htmlCharts = new Map<string, HtmlChart[]>();
  const mdCharts = new Map<string, { title: string; file: string }[]>();
  if (formats.includes('html') || formats.includes('md')) {
    const specs: { useCase: string; chart: ChartSpec }[] = report.useCases.flatMap((u) =>
      useCaseCharts(u).map((chart) => ({ useCase: u.id, chart })),
    );
    const drawable = specs.filter((s) => s.chart.spec);
    let svgs: Rendered[];
    try {
      svgs = await renderSvgs(drawable.map((s) => s.chart.spec!));
    } catch (e) {
      const msg = (e as Error).message;
      svgs = drawable.map(() => ({ error: msg }));
    }
    const rendered = specs.map((s): Rendered => (s.chart.spec ? svgs[drawable.indexOf(s)] : { error: s.chart.missing ?? 'no data' }));
    const chartDir = path.join(outDir, 'charts');
    specs.forEach(({ useCase, chart }, i) => {
      const r = rendered[i] ?? { error: 'no output from the renderer' };
      const entry: HtmlChart = { id: chart.id, title: chart.title };
      if ('svg' in r) {
        entry.svg = scopeSvgIds(r.svg, chart.id);
        if (formats.includes('md')) {
          fs.mkdirSync(chartDir, { recursive: true });
          const file = path.join(chartDir, `${chart.id}.svg`);
          fs.writeFileSync(file, r.svg);
          written.charts.push(file);
          (mdCharts.get(useCase) ?? mdCharts.set(useCase, []).get(useCase)!).push({ title: chart.title, file: `charts/${chart.id}.svg` });
        }
      } else {
        entry.error = r.error;
        written.chartErrors.push(`${chart.id}: ${r.error}`);
        warn(`chart ${chart.id} not drawn: ${r.error}`);
      }
      (htmlCharts.get(useCase) ?? htmlCharts.set(useCase, []).get(useCase)!).push(entry);
    });
  }

  for (const f of formats) {
    if (f === 'md') put(f, renderMarkdown(doc, mdCharts));
    else if (f === 'html') put(f, renderHtml(doc, htmlCharts));
    else if (f === 'csv') put(f, renderCsv(report));
    else if (f === 'json') put(f, JSON.stringify(report, null, 2) + '\n');
    else put(f, renderLatex(doc));
  }
  return written;
}
