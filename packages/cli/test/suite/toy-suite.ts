import * as fs from 'node:fs';
import * as path from 'node:path';

/** A toy suite: vgg11 (or the given nets) x 4 paper points, a per-cell delay; every run appends to run.log. */
export function toySuite(
  dir: string,
  o: { delayMs?: number; failOn?: string; failInput?: boolean; failFirstOnly?: boolean; backbones?: string[] } = {},
) {
  const log = path.join(dir, 'run.log');
  const suite = path.join(dir, 'toy.yaml');
  const overrides = {
    size: 32,
    delayMs: o.delayMs ?? 0,
    logFile: log,
    ...(o.failOn ? { failOn: o.failOn } : {}),
    ...(o.failInput ? { failInput: true } : {}),
    ...(o.failFirstOnly ? { failFirstOnly: true } : {}),
  };
  fs.writeFileSync(
    suite,
    `name: toy\nweights: random\nbackbones: [${(o.backbones ?? ['vgg11']).join(', ')}]\npoints: paper\ntasks:\n  - task: toy\n    overrides: ${JSON.stringify(overrides)}\n`,
  );
  return { suite, log, store: path.join(dir, 'results.sqlite') };
}

/** Runs as the toy task logged them: `backbone@point:seed pid` per start. */
export const runs = (log: string) =>
  fs.existsSync(log)
    ? fs
        .readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ cell: l.split(' ')[0], pid: l.split(' ')[1] }))
    : [];

export const countBy = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
