import * as path from 'node:path';
import { createRegistry, type Registry } from '@dpl/core';

/** The @dpl/cli package folder: its declared plugin dependencies are dpl's default plugins, found from any working folder. */
const CLI_ROOT = path.resolve(__dirname, '..');

/** The registry every CLI process uses: defaults, the project's plugins, config, DPL_PLUGINS and `plugins` (--plugin). */
export const openRegistry = (cwd: string, plugins: string[] = []): Promise<Registry> =>
  createRegistry({ cwd, plugins, defaultsFrom: CLI_ROOT });

/** Lines for stderr about plugins: refused ones (stack under DPL_DEBUG=1), partly loaded ones, notes. */
export function pluginMessages(reg: Registry): string[] {
  const lines: string[] = [];
  for (const p of reg.plugins) {
    if (p.error) lines.push(`warning: ${p.error}`, ...(p.stack ? [p.stack] : []));
    for (const w of p.warnings) lines.push(`warning: plugin '${p.name}' (${p.dir}): ${w}`);
  }
  for (const n of reg.notes) lines.push(`note: ${n}`);
  return lines;
}
