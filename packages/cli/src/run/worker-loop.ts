import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDplError, makeTempDir, removeTempDir, type ProgressReporter, type Registry } from '@dpl/core';
import type { ResultsStore } from '../store/results-store';
import type { CellConfig } from '../suite/grid';
import { executeCell } from './execute-cell';

/**
 * A cell's temporary working folder is `<tmp>/dpl-cell-<pid>-<hash>-XXXXXX`: removed after the cell
 * (done, failed or interrupted) and on SIGINT/SIGTERM (see @dpl/core makeTempDir); the pid lets
 * the runner remove the folders of a worker it had to kill with SIGKILL.
 */
const cellTempPrefix = (pid: number) => `dpl-cell-${pid}-`;

/** Removes the cell folders a (killed) worker process left in the temp folder. */
export function removeCellTempDirs(pid: number): void {
  const prefix = cellTempPrefix(pid);
  for (const name of fs.readdirSync(os.tmpdir()))
    if (name.startsWith(prefix)) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
}

export type WorkerMessage =
  | { type: 'ready'; backend: string }
  | { type: 'start'; hash: string }
  | { type: 'progress'; hash: string; label: string; done: number; total: number }
  | { type: 'log'; hash: string; message: string }
  | { type: 'end'; hash: string; status: 'done' | 'failed' | 'released'; error?: string; seconds: number }
  | { type: 'idle' };

/** Progress of one cell: messages (throttled to one a second) and a store heartbeat. */
function cellProgress(store: ResultsStore, hash: string, owner: string, send: (m: WorkerMessage) => void): ProgressReporter {
  let label = '';
  let total = 0;
  let done = 0;
  let last = 0;
  const flush = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 1000) return;
    last = now;
    send({ type: 'progress', hash, label, done, total });
    store.heartbeat(hash, owner);
  };
  return {
    start(l, t) {
      label = l;
      total = t ?? 0;
      done = 0;
      flush(true);
    },
    tick(n = 1) {
      done += n;
      flush();
    },
    log(message) {
      send({ type: 'log', hash, message });
    },
    done() {
      done = total;
      flush(true);
    },
  };
}

export interface WorkLoopOptions {
  store: ResultsStore;
  reg: Registry;
  owner: string;
  hashes: string[];
  /** Retry cells that failed before this time (ISO; the run's start), once each. */
  retryFailedBefore?: string;
  /** Keep each cell's working directory under this folder; default: a temp dir removed afterwards. */
  scratch?: string;
  signal: AbortSignal;
  send: (m: WorkerMessage) => void;
  /** Called with the hash being run, or null between cells. */
  onCurrent?: (hash: string | null) => void;
}

/**
 * Takes cells from the store and runs them until none is left or `signal` stops it. A cell
 * interrupted by the signal goes back to pending (its partial result is dropped); a cell that
 * throws is recorded as failed with its error and the loop goes on.
 */
export async function workCells(o: WorkLoopOptions): Promise<void> {
  const { store, owner, send } = o;
  while (!o.signal.aborted) {
    const cell = store.claim(o.hashes, owner, { retryFailedBefore: o.retryFailedBefore });
    if (!cell) break;
    o.onCurrent?.(cell.hash);
    send({ type: 'start', hash: cell.hash });
    const scratchDir = o.scratch ? path.join(o.scratch, cell.hash) : makeTempDir(`${cellTempPrefix(process.pid)}${cell.hash}-`);
    const started = Date.now();
    const seconds = () => (Date.now() - started) / 1000;
    try {
      const out = await executeCell(o.reg, cell.config as unknown as CellConfig, cellProgress(store, cell.hash, owner, send), {
        signal: o.signal,
        scratchDir,
      });
      if (o.signal.aborted) {
        store.release(cell.hash, owner);
        send({ type: 'end', hash: cell.hash, status: 'released', seconds: seconds() });
      } else {
        store.finish(cell.hash, owner, out);
        send({ type: 'end', hash: cell.hash, status: 'done', seconds: out.seconds });
      }
    } catch (e) {
      if (o.signal.aborted) {
        store.release(cell.hash, owner);
        send({ type: 'end', hash: cell.hash, status: 'released', seconds: seconds() });
      } else {
        const err = e as Error & { hint?: string };
        const message = `${err.message ?? String(e)}${err.hint ? ` (fix: ${err.hint})` : ''}`;
        store.fail(cell.hash, owner, isDplError(e) ? message : (err.stack ?? message), seconds());
        send({ type: 'end', hash: cell.hash, status: 'failed', error: message, seconds: seconds() });
      }
    } finally {
      o.onCurrent?.(null);
      if (!o.scratch) removeTempDir(scratchDir);
    }
  }
  send({ type: 'idle' });
}
