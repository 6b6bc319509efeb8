import type { CliIO } from '../io';
import type { ExpandedCell } from '../suite/grid';
import { ResultsStore } from '../store/results-store';
import { executeInProcess, executeOnWorkers, type ExecuteOptions } from './grid-execute';
import { planGrid, planLine } from './grid-plan';
import { GridProgress } from './grid-progress';
import { gridSummary, summaryLine, type GridSummary } from './grid-record';

export interface GridRunOptions {
  storeFile: string;
  cells: ExpandedCell[];
  /** Worker processes; 0 runs the cells in this process. */
  workers: number;
  cwd: string;
  plugins: string[];
  backend?: string;
  retryFailed: boolean;
  scratch?: string;
  io: CliIO;
  /** Seconds per cell from earlier runs in the store, for the ETA until this run has its own. */
  prior?: Map<string, number | undefined>;
}

/**
 * Runs a grid on a results store: plans it (adds the cells, counts what is left: grid-plan.ts),
 * executes every unfinished cell in worker processes that claim cells from the store
 * (grid-execute.ts; so several runners can share a store and a killed run resumes where it
 * stopped), reports progress (grid-progress.ts) and sums up from the store (grid-record.ts).
 * Ctrl-C stops cleanly: running cells go back to pending; a second Ctrl-C kills the workers.
 */
export async function runGrid(o: GridRunOptions): Promise<GridSummary> {
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const store = new ResultsStore(o.storeFile);
  const plan = planGrid(store, o.cells, o.retryFailed, started);
  o.io.out(planLine(plan, o.storeFile, o.workers));
  if (plan.todo === 0) {
    const s = gridSummary(store, plan.hashes, { interrupted: false, ranNow: 0, seconds: seconds() });
    store.close();
    return s;
  }

  const progress = new GridProgress({
    io: o.io,
    cells: o.cells,
    todo: plan.todo,
    workers: o.workers,
    prior: o.prior,
    statuses: () => store.statuses(plan.hashes),
    stored: (hash) => store.get(hash),
  });
  const exec: ExecuteOptions = {
    store,
    storeFile: o.storeFile,
    hashes: plan.hashes,
    retryFailedBefore: plan.retryFailedBefore,
    cwd: o.cwd,
    plugins: o.plugins,
    backend: o.backend,
    scratch: o.scratch,
    onMessage: progress.onMessage,
    print: progress.print,
  };
  let interrupted = false;
  progress.start();
  try {
    interrupted = o.workers === 0 ? await executeInProcess(exec) : await executeOnWorkers({ ...exec, n: Math.min(o.workers, plan.todo) });
  } finally {
    progress.stop();
  }
  const s = gridSummary(store, plan.hashes, { interrupted, ranNow: progress.ranNow, seconds: seconds() });
  store.close();
  o.io.out(summaryLine(s));
  return s;
}
