/**
 * BullMQ's sandboxed processor for grid cells: `dpl worker` hands this FILE to BullMQ, which runs
 * it in child processes (one per concurrent cell). tfjs compute blocks its event loop for long
 * stretches; in a child that only delays this child, while the worker process keeps renewing the
 * job locks (else BullMQ would think the worker dead and hand the cell to another one).
 *
 * Nothing imports this module: it registers process handlers meant only for such a child.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRegistry, initBackend, isDplError, type ProgressReporter, type Registry } from '@dpl/core';
import type { SandboxedJob } from 'bullmq';
import { executeCell } from '../run/execute-cell';
import { type CellJobData, type CellJobProgress, type CellJobResult, versionMismatch } from './cell-job';
import { dataMapper } from './data-map';
import { PROCESSOR_ENV, type ProcessorInit } from './processor-init';

// the worker process is gone (SIGKILL, a lost machine): BullMQ gives the cell to another worker,
// so stop instead of computing a result nobody can deliver
process.on('disconnect', () => process.exit(1));

let registry: Promise<Registry> | undefined;
const init = (): ProcessorInit => JSON.parse(process.env[PROCESSOR_ENV] ?? '{}') as ProcessorInit;

/** Backend and registry once per child process (children are reused across cells). */
function setup(o: ProcessorInit): Promise<Registry> {
  registry ??= (async () => {
    await initBackend(o.backend);
    return createRegistry({ cwd: o.cwd, plugins: o.plugins });
  })();
  return registry;
}

/** Progress to BullMQ (at most once a second); task notices go to the job's log. */
function jobProgress(job: SandboxedJob<CellJobData, CellJobResult>): ProgressReporter {
  const p: CellJobProgress = { label: '', done: 0, total: 0 };
  let last = 0;
  const flush = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 1000) return;
    last = now;
    job.updateProgress({ ...p }).catch(() => undefined);
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
    log(message) {
      job.log(message);
    },
    done() {
      p.done = p.total;
      flush(true);
    },
  };
}

export default async function processCell(
  job: SandboxedJob<CellJobData, CellJobResult>,
  _token?: string,
  signal?: AbortSignal,
): Promise<CellJobResult> {
  const refusal = versionMismatch(job.data.dplVersion);
  // UnrecoverableError (matched by name across the process boundary): fail now, no retries
  if (refusal) throw Object.assign(new Error(refusal), { name: 'UnrecoverableError' });
  const o = init();
  const reg = await setup(o);
  const scratchDir = o.scratch ? path.join(o.scratch, job.data.hash) : fs.mkdtempSync(path.join(os.tmpdir(), `dpl-cell-${job.data.hash}-`));
  try {
    return await executeCell(reg, job.data.config, jobProgress(job), { signal, scratchDir, mapData: dataMapper(o.dataMap ?? []) });
  } catch (e) {
    // the same text the local runner stores for a failed cell
    const err = e as Error & { hint?: string };
    const message = `${err.message ?? String(e)}${err.hint ? ` (fix: ${err.hint})` : ''}`;
    throw new Error(isDplError(e) ? message : (err.stack ?? message));
  } finally {
    if (!o.scratch) fs.rmSync(scratchDir, { recursive: true, force: true });
  }
}
