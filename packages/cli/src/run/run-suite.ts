import * as os from 'node:os';
import * as path from 'node:path';
import { configError, DplError } from '@dpl/core';
import type { CliContext } from '../context';
import { table } from '../io';
import { ResultsStore } from '../store/results-store';
import { storeHasData } from '../store/open-store';
import { parseFilter } from '../suite/filter';
import { expandSuite, type ExpandedCell } from '../suite/grid';
import { loadSuite } from '../suite/suite-file';
import { runSuiteOnQueue } from '../queue/coordinator';
import { cellLabel } from './grid-progress';
import type { GridSummary } from './grid-record';
import { runGrid } from './grid-runner';

export interface RunSuiteArgs {
  suite: string;
  workers?: number;
  filter?: string;
  store: string;
  dryRun?: boolean;
  retryFailed: boolean;
  scratch?: string;
  /** redis://HOST:PORT[/DB]: run the cells on `dpl worker`s through this queue instead of locally. */
  queue?: string;
  attempts?: number;
  /** Every task in this preset instead of the suite's. */
  preset?: string;
  /** Every task on its synthetic data (the suite's data roots ignored). */
  synthetic?: boolean;
}

/** Estimated seconds per cell from earlier runs in the store: same task/preset/backbone, else the task/preset mean. */
function estimates(storeFile: string, cells: ExpandedCell[]): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  if (!storeHasData(storeFile)) return out;
  const store = new ResultsStore(storeFile, { readonly: true });
  try {
    const exact = store.meanSeconds();
    const byTask = new Map<string, number[]>();
    for (const [k, v] of exact) {
      const [t, p] = k.split('|');
      byTask.set(`${t}|${p}`, [...(byTask.get(`${t}|${p}`) ?? []), v]);
    }
    for (const c of cells) {
      const e = exact.get(`${c.task}|${c.preset}|${c.backbone}`);
      const t = byTask.get(`${c.task}|${c.preset}`);
      out.set(c.hash, e ?? (t ? t.reduce((a, b) => a + b, 0) / t.length : undefined));
    }
  } finally {
    store.close();
  }
  return out;
}

function statuses(storeFile: string, cells: ExpandedCell[]): Map<string, string> {
  if (!storeHasData(storeFile)) return new Map();
  const store = new ResultsStore(storeFile, { readonly: true });
  try {
    return new Map(store.cells({ hashes: cells.map((c) => c.hash) }).map((c) => [c.hash, c.status]));
  } finally {
    store.close();
  }
}

/** `dpl run <suite>`: validate and expand the whole grid first, then run (or just print it). */
export async function runSuite(ctx: CliContext, a: RunSuiteArgs): Promise<GridSummary | void> {
  const suiteFile = path.resolve(ctx.io.cwd, a.suite);
  const storeFile = path.resolve(ctx.io.cwd, a.store);
  const loaded = loadSuite(suiteFile);
  const reg = await ctx.registry();
  const problems: string[] = [];
  let cells = expandSuite(loaded, reg, { ...(a.dryRun ? { problems } : {}), preset: a.preset, synthetic: a.synthetic });
  if (a.filter) cells = cells.filter(parseFilter(a.filter));
  if (!cells.length)
    throw configError(
      `--filter ${a.filter}`,
      `matches none of the suite's cells`,
      'loosen the filter (dpl run <suite> --dry-run lists them)',
    );
  const workers = a.workers ?? os.availableParallelism();
  if (!Number.isInteger(workers) || workers < 0)
    throw configError(`--workers ${a.workers}`, 'is not a whole number >= 0', 'e.g. --workers 2');

  if (a.dryRun) {
    const est = estimates(storeFile, cells);
    const st = statuses(storeFile, cells);
    const rows = cells.map((c) => {
      const e = est.get(c.hash);
      return {
        hash: c.hash,
        task: c.task,
        preset: c.preset,
        backbone: c.backbone,
        points: c.points.join('+'),
        seed: c.seed,
        weights: c.config.weights.kind,
        status: st.get(c.hash) ?? 'new',
        estSeconds: e,
      };
    });
    const left = rows.filter((r) => r.status !== 'done');
    const known = left.filter((r) => r.estSeconds !== undefined);
    const secs = known.reduce((s, r) => s + (r.estSeconds ?? 0), 0);
    const cost = {
      cells: rows.length,
      toRun: left.length,
      estimatedCellSeconds: secs,
      withoutEstimate: left.length - known.length,
      workers,
      estimatedWallSeconds: secs / Math.max(1, workers),
    };
    const missing = [...new Set(problems)];
    if (ctx.args.json) return ctx.json({ suite: suiteFile, store: storeFile, cells: rows, cost, missing });
    ctx.io.out(
      table(
        rows.map((r) => [
          r.hash,
          r.task,
          r.preset,
          r.backbone,
          r.points,
          r.seed,
          r.weights,
          r.status,
          r.estSeconds === undefined ? '?' : `${r.estSeconds.toFixed(0)}s`,
        ]),
        ['hash', 'task', 'preset', 'backbone', 'points', 'seed', 'weights', 'status', 'est.'],
      ),
    );
    ctx.io.out(
      `\n${cost.cells} cells, ${cost.toRun} to run; estimated ${Math.round(secs)} cell-seconds (~${Math.round(cost.estimatedWallSeconds)} s on ${workers} workers)` +
        (cost.withoutEstimate
          ? `, ${cost.withoutEstimate} cells without an estimate (no earlier run of that task and preset in ${a.store})`
          : ''),
    );
    if (missing.length) ctx.io.out(`\nbefore this suite can run:\n  ${missing.join('\n  ')}`);
    return;
  }

  const prior = estimates(storeFile, cells);
  const summary = a.queue
    ? await runSuiteOnQueue({ url: a.queue, storeFile, cells, attempts: a.attempts ?? 3, retryFailed: a.retryFailed, io: ctx.io, prior })
    : await runGrid({
        storeFile,
        cells,
        workers,
        cwd: ctx.io.cwd,
        plugins: ctx.args.plugin ?? [],
        backend: ctx.args.backend,
        retryFailed: a.retryFailed,
        scratch: a.scratch ? path.resolve(ctx.io.cwd, a.scratch) : undefined,
        io: ctx.io,
        prior,
      });
  if (ctx.args.json) ctx.json(summary);
  if (summary.failed) {
    const store = new ResultsStore(storeFile, { readonly: true });
    const failed = store.cells({ hashes: cells.map((c) => c.hash), status: ['failed'] });
    store.close();
    throw new DplError(
      'E_CELLS_FAILED',
      `${summary.failed} of ${summary.total} cells failed (the others are kept in ${a.store}):\n  ${failed
        .map((f) => `${cellLabel(f)} [${f.hash}]: ${(f.error ?? '').split('\n')[0]}`)
        .join('\n  ')}`,
      'fix the cause and run again with --retry-failed; dpl report shows what finished',
    );
  }
  return summary;
}
