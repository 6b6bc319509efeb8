import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type { VegaLiteSpec } from './charts';

export type Rendered = { svg: string } | { error: string };

/*
 * vega 6 and vega-lite 6 are ES modules with top-level await, which neither require() (this
 * package is CommonJS) nor jest's module loader can load. A short-lived node child imports them
 * and renders every chart in one go: vl.compile(spec).spec -> vega.parse -> View('none').toSVG().
 */
const RENDERER = `
import { readFileSync } from 'node:fs';
const input = JSON.parse(readFileSync(0, 'utf8'));
const vega = await import(input.vega);
const vl = await import(input.vegaLite);
const out = [];
for (const spec of input.specs) {
  try {
    const compiled = vl.compile(spec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    out.push({ svg: await view.toSVG() });
    view.finalize();
  } catch (e) {
    out.push({ error: String(e && e.message || e) });
  }
}
process.stdout.write(JSON.stringify(out));
`;

/** Resolves a package's ESM entry as a file URL (the `default` export condition works from CommonJS). */
const entry = (pkg: string) => pathToFileURL(require.resolve(pkg)).href;

/**
 * Renders Vega-Lite specs to SVG strings, in order. A spec that fails yields `{ error }`; failing
 * to start the renderer at all (vega missing) rejects.
 */
export function renderSvgs(specs: VegaLiteSpec[], timeoutMs = 120_000): Promise<Rendered[]> {
  if (!specs.length) return Promise.resolve([]);
  const input = JSON.stringify({ vega: entry('vega'), vegaLite: entry('vega-lite'), specs });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '--eval', RENDERER], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (code !== 0)
        return reject(
          new Error(`the chart renderer exited with ${signal ?? code}${stderr ? `: ${stderr.split('\n').slice(-5).join(' ')}` : ''}`),
        );
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as Rendered[]);
      } catch (e) {
        reject(new Error(`the chart renderer wrote unreadable output: ${(e as Error).message}`));
      }
    });
    child.stdin.end(input);
  });
}

/**
 * Makes an SVG's ids (clip paths, gradients) unique to it, so several SVGs inlined in one page
 * cannot capture each other's `url(#...)` references.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const m of svg.matchAll(/\bid="([^"]+)"/g)) ids.add(m[1]);
  if (!ids.size) return svg;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(\\bid="|url\\(#|href="#)(${[...ids].map(esc).join('|')})(?=[")])`, 'g');
  return svg.replace(pattern, (_m, lead: string, id: string) => `${lead}${prefix}-${id}`);
}
