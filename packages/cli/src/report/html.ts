import { cellText, type ReportDocument, type Table, type TableCell } from './tables';

/** A chart for the page: inline SVG, or why it could not be drawn. */
export interface HtmlChart {
  id: string;
  title: string;
  svg?: string;
  error?: string;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d1d1f;margin:0;background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:24px 28px 60px;background:#fff;min-height:100vh}
h1{font-size:24px;margin:0 0 8px}
h2{font-size:20px;margin:36px 0 8px;padding-top:12px;border-top:2px solid #e3e6ea}
h3{font-size:15px;margin:22px 0 6px}
p.meta{margin:2px 0;color:#555}
.notes{background:#fff6dd;border:1px solid #f0d68a;border-radius:6px;padding:8px 14px;margin:14px 0}
.notes p{margin:6px 0}
nav ul{margin:6px 0;padding-left:20px;columns:2}
.intro{margin:4px 0;color:#333}
.charts{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start;margin:12px 0}
figure{margin:0;padding:8px;border:1px solid #e3e6ea;border-radius:6px;background:#fff;max-width:100%;overflow-x:auto}
figure svg{display:block;max-width:none;height:auto}
figcaption{font-size:12px;color:#666;margin-top:4px}
.chart-error{color:#a33}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{padding:3px 9px;border-bottom:1px solid #e6e8eb;white-space:nowrap;text-align:left}
td.err{white-space:normal;min-width:320px;max-width:620px;font-family:ui-monospace,Menlo,monospace;font-size:12px}
th{background:#f0f2f5;font-weight:600;position:sticky;top:0}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafbfc}
td.best{font-weight:700;background:#e6f4ea!important}
.caption{font-size:12px;color:#666;margin:3px 0 0;max-width:1100px}
details{margin:6px 0}
summary{cursor:pointer;color:#345}
`;

function cell(c: TableCell, align: 'l' | 'r', wide: boolean): string {
  const cls = [align === 'r' ? 'r' : '', typeof c !== 'string' && c.bold ? 'best' : '', wide ? 'err' : ''].filter(Boolean).join(' ');
  const hint = typeof c !== 'string' && c.hint ? ` title="${escapeHtml(c.hint)}"` : '';
  return `<td${cls ? ` class="${cls}"` : ''}${hint}>${escapeHtml(cellText(c))}</td>`;
}

function table(t: Table): string {
  const head = t.header.map((h, i) => `<th${t.align[i] === 'r' ? ' class="r"' : ''}>${escapeHtml(h)}</th>`).join('');
  const wideCol = t.header.indexOf('error');
  const body = t.rows.map((r) => `<tr>${r.map((c, i) => cell(c, t.align[i], i === wideCol)).join('')}</tr>`).join('\n');
  const inner = `<div class="table-wrap"><table id="${t.id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>
${t.caption.map((c) => `<p class="caption">${escapeHtml(c)}</p>`).join('\n')}`;
  // long rankings fold away so the page stays readable
  if (t.rows.length > 20) return `<h3>${escapeHtml(t.title)}</h3>\n<details><summary>${t.rows.length} rows</summary>\n${inner}\n</details>`;
  return `<h3>${escapeHtml(t.title)}</h3>\n${inner}`;
}

function figure(c: HtmlChart): string {
  const body = c.svg ?? `<p class="chart-error">chart not drawn: ${escapeHtml(c.error ?? 'unknown error')}</p>`;
  return `<figure id="chart-${c.id}">${body}<figcaption>${escapeHtml(c.title)}</figcaption></figure>`;
}

/** One self-contained page: inline CSS and inline SVG charts, no scripts or external files. */
export function renderHtml(doc: ReportDocument, charts: Map<string, HtmlChart[]>): string {
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body><main>',
    `<h1>${escapeHtml(doc.title)}</h1>`,
    ...doc.meta.map((m) => `<p class="meta">${escapeHtml(m)}</p>`),
  ];
  if (doc.notes.length)
    parts.push(`<div class="notes">${doc.notes.map((n) => `<p><strong>Note:</strong> ${escapeHtml(n)}</p>`).join('')}</div>`);
  parts.push(`<nav><ul>${doc.sections.map((s) => `<li><a href="#${s.id}">${escapeHtml(s.heading)}</a></li>`).join('')}</ul></nav>`);
  for (const s of doc.sections) {
    parts.push(
      `<section id="${s.id}">`,
      `<h2>${escapeHtml(s.heading)}</h2>`,
      ...s.intro.map((i) => `<p class="intro">${escapeHtml(i)}</p>`),
    );
    const figs = (s.useCase && charts.get(s.useCase.id)) || [];
    if (figs.length) parts.push(`<div class="charts">${figs.map(figure).join('\n')}</div>`);
    for (const t of s.tables) parts.push(table(t));
    parts.push('</section>');
  }
  parts.push('</main></body></html>', '');
  return parts.join('\n');
}
