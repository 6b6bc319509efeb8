import * as path from 'node:path';
import { DplError } from '@dpl/core';

/** `--data-map FROM=TO` pairs: FROM as the coordinator's suite resolved it, TO on this machine. */
export type DataMap = [from: string, to: string][];

export function parseDataMap(specs: string[] | undefined, cwd: string): DataMap {
  return (specs ?? []).map((s) => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1)
      throw new DplError(
        'E_ARGS',
        `--data-map ${s}: is not FROM=TO`,
        'e.g. --data-map /data/bsds=/mnt/shared/bsds (FROM as the coordinator sees it)',
      );
    const from = s.slice(0, i);
    if (!path.isAbsolute(from))
      throw new DplError(
        'E_ARGS',
        `--data-map ${s}: FROM must be an absolute path`,
        'use the data root as the coordinator resolved it (dpl run <suite> --dry-run --json shows cells and their data)',
      );
    return [path.normalize(from).replace(/\/+$/, '') || '/', path.resolve(cwd, s.slice(i + 1))];
  });
}

/**
 * Rewrites a data root by the longest FROM that is the root itself or one of its parent folders;
 * roots no pair matches are left as they are.
 */
export function dataMapper(map: DataMap): (p: string) => string {
  const byLength = [...map].sort((a, b) => b[0].length - a[0].length);
  return (p: string) => {
    for (const [from, to] of byLength) {
      if (p === from) return to;
      const prefix = from === '/' ? '/' : `${from}/`;
      if (p.startsWith(prefix)) return path.join(to, p.slice(prefix.length));
    }
    return p;
  };
}
