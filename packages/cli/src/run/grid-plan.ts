import type { CellStatus, ResultsStore } from '../store/results-store';
import type { ExpandedCell } from '../suite/grid';

/** What a run of a grid on a store has to do, decided before anything runs. */
export interface GridPlan {
  /** The grid's cells, by hash (a suite never holds two cells with one hash). */
  byHash: Map<string, ExpandedCell>;
  hashes: string[];
  /** The grid's cells by status in the store when the run began. */
  before: Record<CellStatus, number>;
  /** Cells this run will take: pending, running (a dead owner's) and, with --retry-failed, failed. */
  todo: number;
  /** With --retry-failed: cells that failed before this time (ISO; the run's start) run once more. */
  retryFailedBefore?: string;
}

/**
 * Adds the grid's cells to the store (the store is the work queue: cells already there keep their
 * status) and counts what is left to run. `startedMs` is the run's start, so a cell that fails
 * again during this run is not retried in a loop.
 */
export function planGrid(store: ResultsStore, cells: ExpandedCell[], retryFailed: boolean, startedMs: number): GridPlan {
  const byHash = new Map(cells.map((c) => [c.hash, c]));
  const hashes = [...byHash.keys()];
  store.addCells(cells);
  const before = store.counts(hashes);
  return {
    byHash,
    hashes,
    before,
    todo: before.pending + before.running + (retryFailed ? before.failed : 0),
    retryFailedBefore: retryFailed ? new Date(startedMs).toISOString() : undefined,
  };
}

/** The line that opens a run: what is finished and what runs where, or that nothing is left. */
export function planLine(plan: GridPlan, storeFile: string, workers: number): string {
  const { hashes, before, todo } = plan;
  if (todo === 0)
    return `all ${hashes.length} cells are finished in ${storeFile}${before.failed ? ` (${before.failed} failed; --retry-failed runs them again)` : ''}`;
  return `${hashes.length} cells: ${before.done} finished before, ${todo} to run on ${workers ? `${workers} process${workers === 1 ? '' : 'es'}` : 'this process'}; store ${storeFile}`;
}
