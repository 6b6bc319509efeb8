import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '@dpl/core';
import { openRegistry } from '../plugins';
import { ownerId, type ResultsStore } from '../store/results-store';
import { recordLostCell, startFailureLine } from './grid-record';
import { removeCellTempDirs, workCells, type WorkerMessage } from './worker-loop';
import type { WorkerInit } from './worker-process';

/** Where and how the cells of a planned grid run. */
export interface ExecuteOptions {
  store: ResultsStore;
  storeFile: string;
  hashes: string[];
  retryFailedBefore?: string;
  cwd: string;
  plugins: string[];
  backend?: string;
  scratch?: string;
  onMessage: (m: WorkerMessage) => void;
  print: (line: string) => void;
  /** Ctrl-C handling (default: SIGINT/SIGTERM of this process); returns the uninstaller. */
  interrupts?: (first: () => void, second: () => void) => () => void;
}

/** Installs a Ctrl-C handler for the duration of a run: first stops cleanly, second kills. */
function onInterrupt(first: () => void, second: () => void): () => void {
  let n = 0;
  const h = () => (++n === 1 ? first() : second());
  process.on('SIGINT', h);
  process.on('SIGTERM', h);
  return () => {
    process.off('SIGINT', h);
    process.off('SIGTERM', h);
  };
}

/** Runs the cells in this process (`--workers 0`). Returns true when the user stopped it. */
export async function executeInProcess(o: ExecuteOptions): Promise<boolean> {
  await initBackend(o.backend);
  const reg = await openRegistry(o.cwd, o.plugins);
  const abort = new AbortController();
  const off = (o.interrupts ?? onInterrupt)(
    () => abort.abort(),
    () => process.exit(130),
  );
  try {
    await workCells({
      store: o.store,
      reg,
      owner: ownerId(),
      hashes: o.hashes,
      retryFailedBefore: o.retryFailedBefore,
      scratch: o.scratch,
      signal: abort.signal,
      send: o.onMessage,
    });
  } finally {
    off();
  }
  return abort.signal.aborted;
}

/** The part of a forked worker the runner uses (a fake in tests). */
export type WorkerChild = Pick<ChildProcess, 'pid' | 'connected' | 'send' | 'kill' | 'on' | 'stderr'>;

/** The worker script: the built file next to this one (tests run the sources, so map to dist). */
const workerScript = () =>
  __filename.endsWith('.ts') ? path.resolve(__dirname, '../../dist/run/worker-process.js') : path.join(__dirname, 'worker-process.js');

const forkWorker = (env: NodeJS.ProcessEnv): WorkerChild => fork(workerScript(), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });

/**
 * Runs the cells on `n` worker processes (worker-process.ts), each with its own tfjs backend,
 * claiming cells from the store. A worker that dies mid-cell has its cell recorded as failed and
 * is replaced while cells are pending; one that cannot start is reported, not replaced. Returns
 * true when the user stopped the run.
 */
export async function executeOnWorkers(
  o: ExecuteOptions & { n: number; fork?: (env: NodeJS.ProcessEnv) => WorkerChild },
): Promise<boolean> {
  const { store, n } = o;
  let stopping = false;
  const children = new Set<WorkerChild>();
  const init: WorkerInit = {
    type: 'init',
    store: path.resolve(o.storeFile),
    hashes: o.hashes,
    cwd: o.cwd,
    plugins: o.plugins,
    backend: o.backend,
    retryFailedBefore: o.retryFailedBefore,
    scratch: o.scratch,
  };
  let resolveAll!: () => void;
  const allGone = new Promise<void>((r) => (resolveAll = r));
  const spawn = () => {
    // onnxruntime would take every core in each worker: give each its share
    const threads = String(Math.max(1, Math.floor(os.availableParallelism() / n)));
    const env = { ...process.env, DPL_ONNX_THREADS: process.env.DPL_ONNX_THREADS ?? threads };
    const child = (o.fork ?? forkWorker)(env);
    children.add(child);
    let current: string | null = null;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'start') current = m.hash;
      if (m.type === 'end') current = null;
      o.onMessage(m);
    });
    child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      children.delete(child);
      // a worker killed (SIGKILL) or crashed mid-cell could not remove its cell folder
      if (!o.scratch && child.pid) removeCellTempDirs(child.pid);
      if (current) o.onMessage(recordLostCell(store, { hash: current, owner: ownerId(child.pid), stopping, code, signal, stderr }));
      else if (code && !stopping) o.print(startFailureLine(code, stderr));
      // replace a worker lost mid-cell while there is work (not one that could not even start)
      if (!stopping && current && store.counts(o.hashes).pending > 0) spawn();
      if (!children.size) resolveAll();
    });
    child.send(init);
  };
  const off = (o.interrupts ?? onInterrupt)(
    () => {
      stopping = true;
      o.print('stopping: running cells go back to pending (Ctrl-C again to kill the workers)');
      for (const c of children) if (c.connected) c.send({ type: 'stop' });
    },
    () => {
      for (const c of children) c.kill('SIGKILL');
    },
  );
  try {
    for (let i = 0; i < n; i++) spawn();
    await allGone;
  } finally {
    off();
  }
  return stopping;
}
