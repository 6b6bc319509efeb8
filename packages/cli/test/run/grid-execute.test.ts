/**
 * Executing a grid on worker processes, with fake workers (event emitters standing in for forked
 * processes) and a fake Ctrl-C: a worker lost mid-cell has its cell recorded and is replaced while
 * cells are pending; one that cannot start is reported, not replaced; Ctrl-C asks workers to stop,
 * a second one kills them.
 */
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import { executeOnWorkers, type ExecuteOptions, type WorkerChild } from '../../src/run/grid-execute';
import type { WorkerMessage } from '../../src/run/worker-loop';
import type { ResultsStore } from '../../src/store/results-store';
import { freshStore, gridCell, OUTCOME } from './grid-fixtures';

class FakeWorker extends EventEmitter {
  static next = 90000;
  pid = FakeWorker.next++;
  connected = true;
  sent: unknown[] = [];
  killed: string[] = [];
  stderr = new EventEmitter();
  send = (m: unknown) => (this.sent.push(m), true);
  kill = (s: string) => (this.killed.push(s), true);
  /** What a worker does with a cell: claims it from the store and says so. */
  take(store: ResultsStore, hash: string) {
    store.claim([hash], `${os.hostname()}:${this.pid}`);
    this.emit('message', { type: 'start', hash });
  }
  finish(store: ResultsStore, hash: string) {
    store.finish(hash, `${os.hostname()}:${this.pid}`, OUTCOME);
    this.emit('message', { type: 'end', hash, status: 'done', seconds: 2 });
  }
  exit(code: number | null, signal: string | null = null) {
    this.connected = false;
    this.emit('exit', code, signal);
  }
}

function setup(hashes: string[]) {
  const { file, store } = freshStore();
  store.addCells(hashes.map((h) => gridCell(h)));
  const workers: FakeWorker[] = [];
  const messages: WorkerMessage[] = [];
  const printed: string[] = [];
  let ctrlC: [() => void, () => void] | undefined;
  let uninstalled = false;
  const o: ExecuteOptions = {
    store,
    storeFile: file,
    hashes,
    cwd: '/',
    plugins: [],
    scratch: '/nonexistent-scratch', // a scratch folder: nothing is removed from the temp folder
    onMessage: (m) => messages.push(m),
    print: (l) => printed.push(l),
    interrupts: (first, second) => ((ctrlC = [first, second]), () => (uninstalled = true)),
  };
  const fork = () => {
    const w = new FakeWorker();
    workers.push(w);
    return w as unknown as WorkerChild;
  };
  return { store, o, fork, workers, messages, printed, ctrlC: () => ctrlC!, uninstalled: () => uninstalled };
}

describe('executeOnWorkers', () => {
  it('starts n workers with the init message and ends when all have exited', async () => {
    const t = setup(['a', 'b']);
    const done = executeOnWorkers({ ...t.o, n: 2, fork: t.fork });
    expect(t.workers).toHaveLength(2);
    expect(t.workers[0].sent[0]).toMatchObject({ type: 'init', hashes: ['a', 'b'], plugins: [], scratch: '/nonexistent-scratch' });
    t.workers[0].take(t.store, 'a');
    t.workers[0].finish(t.store, 'a');
    t.workers[1].take(t.store, 'b');
    t.workers[1].finish(t.store, 'b');
    t.workers[0].exit(0);
    t.workers[1].exit(0);
    expect(await done).toBe(false);
    expect(t.messages.map((m) => m.type)).toEqual(['start', 'end', 'start', 'end']);
    expect(t.uninstalled()).toBe(true);
    t.store.close();
  });

  it('a worker lost mid-cell: its cell is failed and a new worker takes the pending cells', async () => {
    const t = setup(['a', 'b']);
    const done = executeOnWorkers({ ...t.o, n: 1, fork: t.fork });
    t.workers[0].take(t.store, 'a');
    t.workers[0].stderr.emit('data', Buffer.from('FATAL: heap out of memory\n'));
    t.workers[0].exit(null, 'SIGKILL');
    expect(t.store.get('a')!.status).toBe('failed');
    expect(t.store.get('a')!.error).toMatch(/exited \(SIGKILL\) while running this cell: FATAL: heap out of memory/);
    expect(t.messages.at(-1)).toMatchObject({ type: 'end', hash: 'a', status: 'failed' });
    expect(t.workers).toHaveLength(2); // replaced: 'b' is pending
    t.workers[1].take(t.store, 'b');
    t.workers[1].finish(t.store, 'b');
    t.workers[1].exit(0);
    expect(await done).toBe(false);
    t.store.close();
  });

  it('a worker that fails to start is reported and not replaced', async () => {
    const t = setup(['a']);
    const done = executeOnWorkers({ ...t.o, n: 1, fork: t.fork });
    t.workers[0].stderr.emit('data', Buffer.from('dpl worker: Error: cannot load plugin\n'));
    t.workers[0].exit(3);
    expect(await done).toBe(false);
    expect(t.workers).toHaveLength(1);
    expect(t.printed).toEqual(['a worker process failed to start (code 3): dpl worker: Error: cannot load plugin']);
    t.store.close();
  });

  it('Ctrl-C asks every worker to stop; a second Ctrl-C kills them and their cells go back to pending', async () => {
    const t = setup(['a', 'b']);
    const done = executeOnWorkers({ ...t.o, n: 2, fork: t.fork });
    t.workers[0].take(t.store, 'a');
    t.workers[1].take(t.store, 'b');
    t.ctrlC()[0]();
    expect(t.workers.map((w) => w.sent.at(-1))).toEqual([{ type: 'stop' }, { type: 'stop' }]);
    t.ctrlC()[1]();
    expect(t.workers.map((w) => w.killed)).toEqual([['SIGKILL'], ['SIGKILL']]);
    t.workers[0].exit(null, 'SIGKILL');
    t.workers[1].exit(null, 'SIGKILL');
    expect(await done).toBe(true);
    expect(t.store.counts()).toEqual({ pending: 2, running: 0, done: 0, failed: 0 });
    expect(t.workers).toHaveLength(2); // nothing replaced while stopping
    expect(t.printed[0]).toMatch(/^stopping: running cells go back to pending/);
    t.store.close();
  });
});
