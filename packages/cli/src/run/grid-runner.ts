import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { initBackend } from '@dpl/core';
import { openRegistry } from '../plugins';
import type { CliIO } from '../io';
import type { ExpandedCell } from '../suite/grid';
import { countStatuses, ownerId, ResultsStore, type StoredCell } from '../store/results-store';
import { EtaEstimator } from './eta';
import { fmtSeconds } from './format';
import { removeCellTempDirs, workCells, type WorkerMessage } from './worker-loop';
import type { WorkerInit } from './worker-process';

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

/** `task backbone@points seed N`: how a cell is named in progress lines. */
export const cellLabel = (c: { task: string; backbone: string; points: string[]; seed: number }) =>
  `${c.task} ${c.backbone}@${c.points.join('+')} seed ${c.seed}`;

const headlineText = (c: StoredCell | undefined) => {
  if (!c?.metrics || !c.headline) return '';
  const v = c.metrics[c.headline.metric];
  return `${c.headline.metric}=${typeof v === 'number' ? +v.toPrecision(5) : v}`;
};

/** 45s, 3m05s, 1.2h */
/** The worker script: the built file next to this one (tests run the sources, so map to dist). */
const workerScript = () =>
  __filename.endsWith('.ts') ? path.resolve(__dirname, '../../dist/run/worker-process.js') : path.join(__dirname, 'worker-process.js');

/**
 * Runs a grid on a results store: adds the cells, then runs every unfinished one in worker
 * processes (each with its own tfjs backend) that claim cells from the store, so several runners
 * can share a store and a killed run resumes where it stopped. Ctrl-C stops cleanly: running
 * cells go back to pending; a second Ctrl-C kills the workers.
 */
export async function runGrid(o: GridRunOptions): Promise<GridSummary> {
  const started = Date.now();
  const retryFailedBefore = o.retryFailed ? new Date(started).toISOString() : undefined;
  const store = new ResultsStore(o.storeFile);
  const byHash = new Map(o.cells.map((c) => [c.hash, c]));
  const hashes = [...byHash.keys()];
  store.addCells(o.cells);
  const before = store.counts(hashes);
  const todo = before.pending + before.running + (o.retryFailed ? before.failed : 0);
  const summary = (interrupted: boolean, ranNow: number): GridSummary => {
    const c = store.counts(hashes);
    return {
      total: hashes.length,
      done: c.done,
      failed: c.failed,
      pending: c.pending + c.running,
      ranNow,
      interrupted,
      seconds: (Date.now() - started) / 1000,
    };
  };
  if (todo === 0) {
    o.io.out(
      `all ${hashes.length} cells are finished in ${o.storeFile}${before.failed ? ` (${before.failed} failed; --retry-failed runs them again)` : ''}`,
    );
    const s = summary(false, 0);
    store.close();
    return s;
  }
  o.io.out(
    `${hashes.length} cells: ${before.done} finished before, ${todo} to run on ${o.workers || 'this'} process${o.workers === 1 ? '' : 'es'}; store ${o.storeFile}`,
  );

  // progress: a bar per running cell on a TTY, plain lines otherwise
  const running = new Map<string, { label: string; done: number; total: number }>();
  const etaOf = new EtaEstimator(o.cells, o.prior);
  const startedAt = new Map<string, number>();
  const seenLogs = new Set<string>();
  let ranNow = 0;
  let finishedNow = 0;
  const multi = o.io.tty
    ? new MultiBar({ format: '{name} [{bar}] {percentage}% {info}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
    : null;
  const overall: SingleBar | null = multi?.create(todo, 0, { name: 'cells', info: '' }) ?? null;
  const cellBars = new Map<string, SingleBar>();
  const print = (line: string) => (multi ? multi.log(line + '\n') : o.io.out(line));
  // one read of the statuses per line: counts and the ETA's waiting cells (a TTY redraws every second)
  const status = () => {
    const st = store.statuses(hashes);
    const c = countStatuses(st.values());
    const now = Date.now();
    const started = new Map([...startedAt].map(([h, t]) => [h, (now - t) / 1000]));
    const waiting = [...st].filter(([h, v]) => (v === 'pending' || v === 'running') && !started.has(h)).map(([h]) => h);
    const eta = EtaEstimator.text(etaOf.remaining(waiting, started, Math.max(1, o.workers)));
    return `${c.done}/${hashes.length} done, ${c.running} running, ${c.failed} failed, ${c.pending} pending${eta}`;
  };
  const onMessage = (m: WorkerMessage) => {
    const cell = 'hash' in m ? byHash.get(m.hash) : undefined;
    if (!cell) return;
    if (m.type === 'start') {
      running.set(m.hash, { label: '', done: 0, total: 0 });
      startedAt.set(m.hash, Date.now());
      if (multi) cellBars.set(m.hash, multi.create(1, 0, { name: cellLabel(cell), info: '' }));
      else print(`start  ${cellLabel(cell)} [${m.hash}]`);
    } else if (m.type === 'progress') {
      running.set(m.hash, { label: m.label, done: m.done, total: m.total });
      const bar = cellBars.get(m.hash);
      if (bar) {
        bar.setTotal(Math.max(1, m.total));
        bar.update(m.done, { info: m.label });
      }
    } else if (m.type === 'log') {
      // tasks repeat their notices in every cell and step ("synthetic data written to <tmp>",
      // "step 40 validation 0.08"): show each kind once; the store keeps the results
      const key = m.message.replace(/\/\S+/g, '<path>').replace(/\d+(\.\d+)?(e-?\d+)?/g, '#');
      if (!seenLogs.has(key)) {
        seenLogs.add(key);
        print(`note   ${cellLabel(cell)}: ${m.message}`);
      }
    } else if (m.type === 'end') {
      running.delete(m.hash);
      startedAt.delete(m.hash);
      const bar = cellBars.get(m.hash);
      if (bar) multi?.remove(bar);
      cellBars.delete(m.hash);
      if (m.status === 'released') {
        print(`stopped ${cellLabel(cell)} (back to pending)`);
        return;
      }
      finishedNow++;
      if (m.status === 'done') {
        ranNow++;
        etaOf.record(m.hash, m.seconds);
      }
      overall?.update(finishedNow, { info: status() });
      print(
        m.status === 'done'
          ? `done   ${cellLabel(cell)}: ${headlineText(store.get(m.hash))} (${m.seconds.toFixed(1)} s) | ${status()}`
          : `FAILED ${cellLabel(cell)}: ${m.error} | ${status()}`,
      );
    }
  };
  const ticker = setInterval(
    () => {
      if (multi) overall?.update(finishedNow, { info: status() });
      else if (running.size)
        print(
          `...    ${status()} | ${[...running.entries()]
            .map(([h, r]) => `${cellLabel(byHash.get(h)!)} ${r.label} ${r.total ? `${r.done}/${r.total}` : ''}`.trim())
            .join('; ')}`,
        );
    },
    o.io.tty ? 1000 : 15000,
  );

  let interrupted = false;
  try {
    if (o.workers === 0) interrupted = await runInProcess(o, store, hashes, retryFailedBefore, onMessage);
    else interrupted = await runWorkers(o, store, hashes, retryFailedBefore, Math.min(o.workers, todo), onMessage, print);
  } finally {
    clearInterval(ticker);
    multi?.stop();
  }
  const s = summary(interrupted, ranNow);
  store.close();
  o.io.out(
    `${interrupted ? 'stopped' : 'finished'}: ${s.done}/${s.total} cells done (${s.ranNow} in this run), ${s.failed} failed, ${s.pending} left; ${fmtSeconds(s.seconds)}`,
  );
  return s;
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

async function runInProcess(
  o: GridRunOptions,
  store: ResultsStore,
  hashes: string[],
  retryFailedBefore: string | undefined,
  onMessage: (m: WorkerMessage) => void,
): Promise<boolean> {
  await initBackend(o.backend);
  const reg = await openRegistry(o.cwd, o.plugins);
  const abort = new AbortController();
  const off = onInterrupt(
    () => abort.abort(),
    () => process.exit(130),
  );
  try {
    await workCells({ store, reg, owner: ownerId(), hashes, retryFailedBefore, scratch: o.scratch, signal: abort.signal, send: onMessage });
  } finally {
    off();
  }
  return abort.signal.aborted;
}

async function runWorkers(
  o: GridRunOptions,
  store: ResultsStore,
  hashes: string[],
  retryFailedBefore: string | undefined,
  n: number,
  onMessage: (m: WorkerMessage) => void,
  print: (line: string) => void,
): Promise<boolean> {
  let stopping = false;
  const children = new Set<ChildProcess>();
  const init: WorkerInit = {
    type: 'init',
    store: path.resolve(o.storeFile),
    hashes,
    cwd: o.cwd,
    plugins: o.plugins,
    backend: o.backend,
    retryFailedBefore,
    scratch: o.scratch,
  };
  let resolveAll!: () => void;
  const allGone = new Promise<void>((r) => (resolveAll = r));
  const spawn = () => {
    // onnxruntime would take every core in each worker: give each its share
    const threads = String(Math.max(1, Math.floor(os.availableParallelism() / n)));
    const env = { ...process.env, DPL_ONNX_THREADS: process.env.DPL_ONNX_THREADS ?? threads };
    const child = fork(workerScript(), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
    children.add(child);
    let current: string | null = null;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'start') current = m.hash;
      if (m.type === 'end') current = null;
      onMessage(m);
    });
    child.on('exit', (code, sig) => {
      children.delete(child);
      // a worker killed (SIGKILL) or crashed mid-cell could not remove its cell folder
      if (!o.scratch && child.pid) removeCellTempDirs(child.pid);
      const owner = ownerId(child.pid);
      if (current && stopping) {
        store.release(current, owner); // killed by the user's second Ctrl-C
        onMessage({ type: 'end', hash: current, status: 'released', seconds: 0 });
      } else if (current) {
        // died mid-cell (out of memory, a crash): record it rather than retry it forever
        store.fail(
          current,
          owner,
          `the worker process exited (${sig ?? `code ${code}`}) while running this cell${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
        );
        onMessage({ type: 'end', hash: current, status: 'failed', error: `worker process exited (${sig ?? `code ${code}`})`, seconds: 0 });
      } else if (code && !stopping)
        print(`a worker process failed to start (code ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      // replace a worker lost mid-cell while there is work (not one that could not even start)
      if (!stopping && current && store.counts(hashes).pending > 0) spawn();
      if (!children.size) resolveAll();
    });
    child.send(init);
  };
  const off = onInterrupt(
    () => {
      stopping = true;
      print('stopping: running cells go back to pending (Ctrl-C again to kill the workers)');
      for (const c of children) c.connected && c.send({ type: 'stop' });
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
