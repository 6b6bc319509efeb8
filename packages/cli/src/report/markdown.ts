import { cellText, type ReportDocument, type Table, type TableCell } from './tables';

// a pipe would end the cell; line breaks would end the row
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const cell = (c: TableCell) => {
  const t = esc(cellText(c));
  return typeof c !== 'string' && c.bold && t ? `**${t}**` : t;
};

function table(t: Table): string[] {
  const sep = t.align.map((a) => (a === 'r' ? '---:' : ':---'));
  return [
    `### ${t.title}`,
    '',
    `| ${t.header.map(esc).join(' | ')} |`,
    `| ${sep.join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    '',
    ...t.caption.map((c) => `_${esc(c)}_  `),
    '',
  ];
}

/** GitHub-flavoured Markdown: headings, pipe tables, captions in italics; `charts` (use case id -> SVG files) become images. */
export function renderMarkdown(doc: ReportDocument, charts: Map<string, { title: string; file: string }[]> = new Map()): string {
  const out: string[] = [`# ${doc.title}`, '', ...doc.meta.map((m) => `${m}  `), ''];
  if (doc.notes.length) out.push(doc.notes.map((n) => `> **Note:** ${esc(n)}`).join('\n>\n'), '');
  out.push('Contents:', '', ...doc.sections.map((s) => `- [${s.heading}](#${s.id})`), '');
  for (const s of doc.sections) {
    out.push(`<a id="${s.id}"></a>`, '', `## ${s.heading}`, '', ...s.intro.map((i) => `${i}  `), '');
    for (const t of s.tables) out.push(...table(t));
    for (const c of (s.useCase && charts.get(s.useCase.id)) || []) out.push(`![${esc(c.title)}](${encodeURI(c.file)})`, '');
  }
  return out.join('\n');
}
