/**
 * Vega-Lite specifications of the report's charts (plain JSON; rendered to SVG by render-svg.ts).
 * Per use case: a network x point heatmap, the headline against ImageNet top-1, and the headline
 * against relative depth.
 */
import type { UseCaseReport } from './model';
import { num } from './format';

export type VegaLiteSpec = Record<string, unknown>;

export interface ChartSpec {
  /** Stable id, unique in the report: `<use case>-<kind>` slugged. */
  id: string;
  title: string;
  /** null when the data is missing (`missing` says why). */
  spec: VegaLiteSpec | null;
  missing?: string;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

const config = {
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 11 },
  title: { fontSize: 13, anchor: 'start' },
  view: { stroke: null },
};

export function useCaseCharts(uc: UseCaseReport): ChartSpec[] {
  const metric = `${uc.headline.metric} (${uc.headline.higherIsBetter ? 'higher' : 'lower'} is better)`;
  // legend titles are cut at ~180 px: two lines instead
  const legendTitle = [uc.headline.metric, `(${uc.headline.higherIsBetter ? 'higher' : 'lower'} is better)`];
  const networks = uc.networks.map((n) => n.backbone);
  const cells = uc.networks.flatMap((n) =>
    uc.columns
      .filter((c) => n.cells[c])
      .map((c) => {
        const a = n.cells[c];
        return {
          network: n.backbone,
          column: c,
          value: a.mean,
          label: num(a.mean),
          top1: n.imagenetTop1,
          depth: a.attributes?.relativeDepth ?? null,
          best: n.best.column === c,
        };
      }),
  );
  const values = cells.map((c) => c.value);
  const mid = (Math.min(...values) + Math.max(...values)) / 2;
  // viridis is dark at the low end: light text on the dark half of the scale
  const darkTest = uc.headline.higherIsBetter ? `datum.value < ${mid}` : `datum.value > ${mid}`;
  const charts: ChartSpec[] = [];

  charts.push({
    id: slug(`${uc.id}-heatmap`),
    title: `${uc.id}: ${uc.headline.metric} per network and point`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config,
      title: `${uc.id}: ${uc.headline.metric} (mean over seeds; best point of each network outlined)`,
      data: { values: cells },
      width: { step: Math.max(54, 360 / Math.max(1, uc.columns.length)) },
      height: { step: 24 },
      encoding: {
        x: {
          field: 'column',
          type: 'nominal',
          sort: uc.columns,
          title: uc.columnKind === 'study' ? 'extraction point' : 'point',
          axis: { labelAngle: 0, orient: 'top' },
        },
        y: { field: 'network', type: 'nominal', sort: networks, title: null },
      },
      layer: [
        {
          mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
          encoding: {
            color: {
              field: 'value',
              type: 'quantitative',
              title: legendTitle,
              scale: { scheme: 'viridis', reverse: !uc.headline.higherIsBetter },
              legend: { orient: 'right', gradientLength: 120 },
            },
          },
        },
        {
          // outline each network's best point
          transform: [{ filter: 'datum.best' }],
          mark: { type: 'rect', fill: null, stroke: '#d62728', strokeWidth: 2.5 },
        },
        {
          mark: { type: 'text', fontSize: 10 },
          encoding: {
            text: { field: 'label', type: 'nominal' },
            color: { condition: { test: darkTest, value: 'white' }, value: 'black' },
            fontWeight: { condition: { test: 'datum.best', value: 'bold' }, value: 'normal' },
          },
        },
      ],
    },
  });

  const withTop1 = cells.filter((c) => c.top1 !== null);
  const top1s = withTop1.map((c) => c.top1!);
  const right = Math.max(...top1s) - 0.25 * (Math.max(...top1s) - Math.min(...top1s));
  const top1Title = `${uc.id}: ${uc.headline.metric} against ImageNet top-1`;
  if (!withTop1.length)
    charts.push({
      id: slug(`${uc.id}-top1`),
      title: top1Title,
      spec: null,
      missing: 'no network here has a known ImageNet top-1 (backbone plugins not found from this folder?)',
    });
  else
    charts.push({
      id: slug(`${uc.id}-top1`),
      title: top1Title,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        config,
        title: `${uc.id}: ${uc.headline.metric} vs ImageNet top-1`,
        data: { values: withTop1 },
        width: 340,
        height: 260,
        layer: [
          {
            mark: { type: 'point', filled: true, size: 60, opacity: 0.85 },
            encoding: {
              x: { field: 'top1', type: 'quantitative', title: 'ImageNet top-1 (%)', scale: { zero: false, nice: true } },
              y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
              color: { field: 'column', type: 'nominal', sort: uc.columns, title: 'point', scale: { scheme: 'tableau10' } },
            },
          },
          {
            // name each network once, at its best point
            transform: [{ filter: 'datum.best' }],
            // labels near the right edge go left of their point, so none runs into the legend
            mark: {
              type: 'text',
              align: { expr: `datum.top1 > ${right} ? 'right' : 'left'` },
              dx: { expr: `datum.top1 > ${right} ? -5 : 5` },
              dy: -5,
              fontSize: 9,
              color: '#444',
            },
            encoding: {
              x: { field: 'top1', type: 'quantitative' },
              y: { field: 'value', type: 'quantitative' },
              text: { field: 'network', type: 'nominal' },
            },
          },
        ],
      },
    });

  const withDepth = cells.filter((c) => c.depth !== null);
  const depthTitle = `${uc.id}: ${uc.headline.metric} against relative depth`;
  if (!withDepth.length)
    charts.push({
      id: slug(`${uc.id}-depth`),
      title: depthTitle,
      spec: null,
      missing: 'no point here has known attributes (backbone plugins not found from this folder?)',
    });
  else
    charts.push({
      id: slug(`${uc.id}-depth`),
      title: depthTitle,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        config,
        title: `${uc.id}: ${uc.headline.metric} vs relative depth`,
        data: { values: withDepth },
        width: 340,
        height: 260,
        encoding: {
          x: { field: 'depth', type: 'quantitative', title: 'relative depth of the point', scale: { domain: [0, 1] } },
          y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
          color: { field: 'network', type: 'nominal', sort: networks, title: 'network', scale: { scheme: 'category20' } },
        },
        layer: [
          { mark: { type: 'line', strokeWidth: 1.5, opacity: 0.7 }, encoding: { order: { field: 'depth', type: 'quantitative' } } },
          { mark: { type: 'point', filled: true, size: 45 } },
        ],
      },
    });
  return charts;
}
