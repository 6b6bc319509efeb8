/**
 * A queue worker's cell process: `dpl worker` forks it (child-pool.ts) and sends it one cell at a
 * time. tfjs compute blocks the event loop for long stretches; in a child that only delays this
 * child, while the worker process keeps renewing job locks and heartbeats.
 *
 * Nothing imports this module: it registers process handlers meant only for such a child.
 */
import { initBackend, isDplError, type ProgressReporter, type Registry } from '@dpl/core';
import { openRegistry } from '../plugins';
import { executeCell } from '../run/execute-cell';
import { dataMapper } from './data-map';
import { type CellChildMessage, PROCESSOR_ENV, type ProcessorInit, type RunCellMessage } from './processor-init';

// the worker is gone (SIGKILL, a lost machine): stop instead of computing a result nobody can
// deliver. 'disconnect' comes when the IPC channel closes; the ppid check covers a missed event.
process.on('disconnect', () => process.exit(1));
const parent = process.ppid;
setInterval(() => process.ppid !== parent && process.exit(1), 1000).unref();
process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole process group; the worker decides

const init = JSON.parse(process.env[PROCESSOR_ENV] ?? '{}') as ProcessorInit;
let registry: Promise<Registry> | undefined;
const setup = () =>
  (registry ??= (async () => {
    await initBackend(init.backend);
    return openRegistry(init.cwd, init.plugins);
  })());

const send = (m: CellChildMessage) => {
  if (process.connected) process.send?.(m);
};

function progressOf(hash: string): ProgressReporter {
  const p = { label: '', done: 0, total: 0 };
  let last = 0;
  const flush = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 1000) return;
    last = now;
    send({ type: 'progress', hash, ...p });
  };
  return {
    start(label, total) {
      Object.assign(p, { label, total: total ?? 0, done: 0 });
      flush(true);
    },
    tick(n = 1) {
      p.done += n;
      flush();
    },
    log: (message) => send({ type: 'log', hash, message }),
    done() {
      p.done = p.total;
      flush(true);
    },
  };
}

let busy: string | null = null;
process.on('message', (m: RunCellMessage) => {
  if (m?.type !== 'run') return;
  // one cell at a time, whatever the worker asks
  if (busy) return send({ type: 'end', hash: m.hash, ok: false, busy: true, error: `this cell process is still running ${busy}` });
  busy = m.hash;
  void (async () => {
    try {
      const reg = await setup();
      const outcome = await executeCell(reg, m.config, progressOf(m.hash), {
        scratchDir: m.scratchDir,
        mapData: dataMapper(init.dataMap ?? []),
      });
      send({ type: 'end', hash: m.hash, ok: true, outcome });
    } catch (e) {
      // the same text the local runner stores for a failed cell
      const err = e as Error & { hint?: string };
      const message = `${err.message ?? String(e)}${err.hint ? ` (fix: ${err.hint})` : ''}`;
      send({
        type: 'end',
        hash: m.hash,
        ok: false,
        error: isDplError(e) ? message : (err.stack ?? message),
        code: isDplError(e) ? e.code : undefined,
      });
    } finally {
      busy = null;
    }
  })();
});
