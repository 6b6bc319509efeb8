import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PluginSpec {
  name: string;
  kind?: string;
  apiVersion?: number;
  /** The body of plugin.js; `core` is require('@dpl/core'). */
  code: string;
  /** Replaces the whole manifest. */
  manifest?: unknown;
  extra?: Record<string, unknown>;
}

/** Writes a plain-JavaScript plugin package into `dir` (as a third party would publish one). */
export function writePlugin(dir: string, spec: PluginSpec): string {
  fs.mkdirSync(dir, { recursive: true });
  const manifest = spec.manifest ?? { apiVersion: spec.apiVersion ?? 1, kind: spec.kind ?? 'backbone', module: './plugin.js' };
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: spec.name, version: '1.2.3', main: 'plugin.js', dpl: manifest, ...spec.extra }, null, 2),
  );
  fs.writeFileSync(path.join(dir, 'plugin.js'), `const core = require('@dpl/core');\n${spec.code}\n`);
  return dir;
}

/** JavaScript for a tiny backbone `id` (two taps); `broken` joins tensors of different sizes. */
export const backboneJs = (id: string, opts: { broken?: boolean } = {}) => `core.defineBackbone({
  id: ${JSON.stringify(id)},
  family: 'tiny',
  metadata: { batchNorm: false, normalization: 'imagenet', inStudy: false, description: 'test backbone' },
  graph: (g) => {
    const x = g.input(3);
    const a = g.tap('a', g.relu(g.conv(x, 'a', { out: 4, k: 3, pad: 1 })));
    const b = g.conv(a, 'b', { out: 4, k: 3, stride: 2, pad: 1 });
    g.tap('b', ${opts.broken ? 'g.relu(g.concat([a, b]))' : 'g.relu(b)'});
  },
})`;

/** plugin.js code exporting backbones with these ids. */
export const backbonesModule = (...ids: string[]) =>
  `module.exports = { default: core.backbonePlugin([${ids.map((i) => backboneJs(i)).join(', ')}]) };`;

/** JavaScript for a task `id` whose config check is `check` (a function body on `overrides`). */
export const taskJs = (id: string, check = '') => `({
  id: ${JSON.stringify(id)},
  description: 'test task',
  presets: [{ name: 'quick', description: 'q', config: { n: 1 } }, { name: 'paper', description: 'p', config: { n: 2 } }],
  resolveConfig(preset, overrides = {}) { ${check}; return { n: 1, ...overrides }; },
  async run() { throw new Error('not run in these tests'); },
})`;
