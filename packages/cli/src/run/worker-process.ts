/**
 * A local runner's worker process: its own tfjs backend, taking cells from the results store
 * until none is left. Started by grid-execute.ts with `fork`; talks over IPC.
 */
import { initBackend } from '@dpl/core';
import { openRegistry } from '../plugins';
import { ownerId, ResultsStore } from '../store/results-store';
import { workCells, type WorkerMessage } from './worker-loop';

export interface WorkerInit {
  type: 'init';
  store: string;
  hashes: string[];
  cwd: string;
  plugins: string[];
  backend?: string;
  retryFailedBefore?: string;
  scratch?: string;
}

const send = (m: WorkerMessage) => {
  if (process.connected) process.send?.(m);
};

async function main(init: WorkerInit): Promise<void> {
  const store = new ResultsStore(init.store);
  const info = await initBackend(init.backend);
  const reg = await openRegistry(init.cwd, init.plugins);
  send({ type: 'ready', backend: info.name });
  const abort = new AbortController();
  let current: string | null = null;
  const stop = () => {
    abort.abort();
    // between cells: leave now; mid-cell, the loop releases the cell and returns
    if (!current) process.exit(0);
  };
  process.on('message', (m: { type?: string }) => m?.type === 'stop' && stop());
  process.on('disconnect', stop); // the runner died: do not work for nobody
  process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole process group; the runner decides
  await workCells({
    store,
    reg,
    owner: ownerId(),
    hashes: init.hashes,
    retryFailedBefore: init.retryFailedBefore,
    scratch: init.scratch,
    signal: abort.signal,
    send,
    onCurrent: (h) => (current = h),
  });
  store.close();
  process.exit(0);
}

process.once('message', (m: WorkerInit) => {
  main(m).catch((e: Error) => {
    process.stderr.write(`dpl worker: ${e.stack ?? e.message}\n`);
    process.exit(3);
  });
});
