import type { ResultsStore } from '../store/results-store';
import { fmtSeconds } from './format';
import type { WorkerMessage } from './worker-loop';

/** How a grid run ended, from the store's counts (workers record each cell as it ends: worker-loop.ts). */
export interface GridSummary {
  total: number;
  done: number;
  failed: number;
  pending: number;
  /** Cells this run finished (not counting those finished before). */
  ranNow: number;
  interrupted: boolean;
  seconds: number;
}

export function gridSummary(
  store: ResultsStore,
  hashes: string[],
  run: { interrupted: boolean; ranNow: number; seconds: number },
): GridSummary {
  const c = store.counts(hashes);
  return { total: hashes.length, done: c.done, failed: c.failed, pending: c.pending + c.running, ...run };
}

/** The line that closes a run. */
export const summaryLine = (s: GridSummary) =>
  `${s.interrupted ? 'stopped' : 'finished'}: ${s.done}/${s.total} cells done (${s.ranNow} in this run), ${s.failed} failed, ${s.pending} left; ${fmtSeconds(s.seconds)}`;

/** A worker process that exited while it held a cell. */
export interface LostCell {
  hash: string;
  /** The worker's owner id in the store (`host:pid`). */
  owner: string;
  /** True when the user stopped the run (its second Ctrl-C killed the worker). */
  stopping: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The tail of the worker's stderr. */
  stderr: string;
}

const lastLines = (s: string) => s.trim().split('\n').slice(-3).join(' | ');

/**
 * Records a cell whose worker died mid-cell: back to pending when the user killed it, else failed
 * with the exit and the end of its stderr (out of memory, a crash): recorded rather than retried
 * forever. Returns the `end` message the progress report shows.
 */
export function recordLostCell(store: ResultsStore, l: LostCell): WorkerMessage {
  if (l.stopping) {
    store.release(l.hash, l.owner);
    return { type: 'end', hash: l.hash, status: 'released', seconds: 0 };
  }
  const exit = l.signal ?? `code ${l.code}`;
  store.fail(l.hash, l.owner, `the worker process exited (${exit}) while running this cell${l.stderr ? `: ${lastLines(l.stderr)}` : ''}`);
  return { type: 'end', hash: l.hash, status: 'failed', error: `worker process exited (${exit})`, seconds: 0 };
}

/** What to print when a worker exited before it took a cell. */
export const startFailureLine = (code: number, stderr: string) => `a worker process failed to start (code ${code}): ${lastLines(stderr)}`;
