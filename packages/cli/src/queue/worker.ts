import * as fs from 'node:fs';
import * as os from 'node:os';
import { DplError } from '@dpl/core';
import { type Job, Worker } from 'bullmq';
import { DPL_VERSION } from '../context';
import type { CliIO } from '../io';
import { cellLabel } from '../run/grid-runner';
import type { CellJobData, CellJobResult } from './cell-job';
import { envMs, parseRedisUrl, probeRedis, QUEUE_NAME, QUEUE_PREFIX, redisClient } from './connection';
import type { DataMap } from './data-map';
import { PROCESSOR_ENV, processorFile, type ProcessorInit } from './processor-init';

export interface QueueWorkerOptions {
  url: string;
  /** Cells at once, each in its own child process. */
  concurrency: number;
  dataMap: DataMap;
  cwd: string;
  plugins: string[];
  backend?: string;
  scratch?: string;
  io: CliIO;
}

export interface QueueWorkerSummary {
  name: string;
  done: number;
  failed: number;
}

/** How many times a cell may lose its worker (lock expired) before BullMQ fails it. */
const MAX_STALLED = 2;

const firstLine = (s: string | undefined) => (s ?? '').split('\n')[0];

/**
 * `dpl worker`: takes cells from the queue and runs each with executeCell in a sandboxed child
 * process, until Ctrl-C / SIGTERM (the first lets running cells finish; the second abandons them,
 * and BullMQ's stall detection gives them to other workers).
 */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
    throw new DplError(
      'E_ARGS',
      `--concurrency ${o.concurrency}: is not a whole number >= 1`,
      'e.g. --concurrency 2 (cells run at once on this machine)',
    );
  const target = parseRedisUrl(o.url);
  const file = processorFile();
  if (!fs.existsSync(file)) throw new DplError('E_BUILD', `the queue processor ${file} is missing`, 'build dpl first: npm run build');
  await probeRedis(target);
  const name = `${os.hostname()}:${process.pid}`;
  const init: ProcessorInit = { cwd: o.cwd, plugins: o.plugins, backend: o.backend, dataMap: o.dataMap, scratch: o.scratch };
  // the worker's main connection (BullMQ shares it, so closing it is ours to do) and the source of
  // its blocking connection (a duplicate); lazy: connects when BullMQ first uses it
  const seed = redisClient(target, { lazy: true });
  const worker = new Worker<CellJobData, CellJobResult>(QUEUE_NAME, file, {
    connection: seed,
    prefix: QUEUE_PREFIX,
    name,
    concurrency: o.concurrency,
    useWorkerThreads: false,
    workerForkOptions: { env: { ...process.env, [PROCESSOR_ENV]: JSON.stringify(init) } },
    lockDuration: envMs('DPL_QUEUE_LOCK_MS', 30_000),
    stalledInterval: envMs('DPL_QUEUE_STALLED_MS', 30_000),
    maxStalledCount: MAX_STALLED,
    autorun: false,
  });

  const print = (line: string) => o.io.out(line);
  const label = (job: Job<CellJobData>) => `${cellLabel(job.data.config)} [${job.data.hash}]`;
  let done = 0;
  let failed = 0;
  worker.on('active', (job) => print(`start  ${label(job)}${job.attemptsStarted > 1 ? ` (attempt ${job.attemptsStarted})` : ''}`));
  worker.on('completed', (job, r) => {
    done++;
    const h = r.headline && r.metrics[r.headline.metric];
    print(`done   ${label(job)}: ${r.headline?.metric}=${typeof h === 'number' ? +h.toPrecision(5) : h} (${r.seconds.toFixed(1)} s)`);
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= attempts;
    if (final) failed++;
    print(
      `FAILED ${label(job)}: ${firstLine(err.message)}${final ? '' : ` (attempt ${job.attemptsMade} of ${attempts}; it will be retried)`}`,
    );
  });
  worker.on('stalled', (jobId) => print(`stalled [${jobId}]: the worker running it stopped answering; the cell is back in the queue`));
  // connection trouble repeats every retry: say each distinct problem once a minute
  const said = new Map<string, number>();
  worker.on('error', (e) => {
    const key = firstLine(e.message);
    if (Date.now() - (said.get(key) ?? 0) < 60_000) return;
    said.set(key, Date.now());
    o.io.err(`warning: queue: ${key}`);
  });

  let stops = 0;
  const stop = () => {
    if (++stops === 1) {
      print('stopping: the running cells finish first (Ctrl-C again to abandon them: the queue gives them to other workers)');
      void worker.close();
    } else {
      print('abandoning the running cells');
      process.exit(130);
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  print(
    `worker ${name}: dpl ${DPL_VERSION}, taking cells from ${target.display} with ${o.concurrency} process${o.concurrency === 1 ? '' : 'es'}` +
      (o.dataMap.length ? `; data: ${o.dataMap.map(([f, t]) => `${f} -> ${t}`).join(', ')}` : ''),
  );
  try {
    await worker.run();
    await worker.close();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await seed.quit();
  }
  print(`worker ${name} stopped: ${done} cells done, ${failed} failed`);
  return { name, done, failed };
}
