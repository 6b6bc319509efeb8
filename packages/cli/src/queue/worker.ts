import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DplError } from '@dpl/core';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { DPL_VERSION } from '../context';
import type { CliIO } from '../io';
import { cellLabel } from '../run/grid-progress';
import { type CellJobData, type CellJobResult, versionMismatch } from './cell-job';
import { CellCancelled, CellFailed, ChildPool } from './child-pool';
import { envMs, KEYS, parseRedisUrl, probeRedis, QUEUE_NAME, QUEUE_PREFIX, redisClient, withTimeout } from './connection';
import type { DataMap } from './data-map';
import { removeBeat, type WorkerBeat, writeBeat } from './presence';
import { PROCESSOR_ENV, processorFile, type ProcessorInit } from './processor-init';
import { readResult, ResultSpool } from './results';

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

/**
 * DplError codes no retry can fix (the cell's own input, config or weights are wrong): the cell
 * fails at once. Anything else (a crash, a lost process, a download) is retried with backoff.
 */
const FINAL_CODES = new Set([
  'E_INPUT',
  'E_DATA',
  'E_CONFIG',
  'E_WEIGHTS',
  'E_NO_WEIGHTS',
  'E_ARGS',
  'E_UNKNOWN_TASK',
  'E_UNKNOWN_BACKBONE',
  'E_UNKNOWN_POINT',
]);

const firstLine = (s: string | undefined) => (s ?? '').split('\n')[0];

/** This machine's worker folders: `<tmp>/dpl-worker/<pid>` (cell scratch folders and the result spool). */
const WORKER_ROOT = path.join(os.tmpdir(), 'dpl-worker');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
};

/**
 * `dpl worker`: takes cells from the queue and runs each in a cell process of its own pool
 * (child-pool.ts), until Ctrl-C / SIGTERM (the first lets running cells finish; the second
 * abandons them, and BullMQ's stall detection gives them to other workers). A finished cell's
 * result is published under its hash (results.ts) before the job is completed, so a lock lost to
 * a Redis outage loses nothing; a cell whose result is already published is not run again.
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
  if (!fs.existsSync(file)) throw new DplError('E_BUILD', `the queue cell process ${file} is missing`, 'build dpl first: npm run build');
  const lockMs = envMs('DPL_QUEUE_LOCK_MS', 30_000);
  const beatMs = envMs('DPL_QUEUE_HEARTBEAT_MS', Math.min(5000, Math.max(250, Math.floor(lockMs / 3))));
  await probeRedis(target);
  const name = `${os.hostname()}:${process.pid}`;
  const print = (line: string) => o.io.out(line);

  const root = path.join(WORKER_ROOT, String(process.pid));
  const init: ProcessorInit = { cwd: o.cwd, plugins: o.plugins, backend: o.backend, dataMap: o.dataMap };
  // the worker's connection (BullMQ shares it and duplicates it for its blocking one; closing it
  // is ours to do); lazy: connects when first used
  const seed = redisClient(target, { lazy: true });
  const spool = new ResultSpool(path.join(root, 'spool'), seed, {
    tryMs: Math.max(500, Math.min(5000, beatMs)),
    boundMs: envMs('DPL_QUEUE_PUBLISH_MS', 120_000),
    maxBackoffMs: Math.max(250, Math.min(5000, beatMs)),
  });
  // leftovers of workers on this machine that were killed: publish their spooled results, then remove
  for (const d of fs.existsSync(WORKER_ROOT) ? fs.readdirSync(WORKER_ROOT) : []) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    const spooled = await spool.flush(path.join(WORKER_ROOT, d, 'spool'));
    if (spooled.length) print(`published ${spooled.length} result(s) that worker ${pid} on this machine had kept while Redis was down`);
    fs.rmSync(path.join(WORKER_ROOT, d), { recursive: true, force: true });
  }

  // outages: a reconnect, or a heartbeat Redis did not take in time (a stopped server keeps its sockets)
  let outage: { from: number; to?: number } | undefined;
  const outageStarts = () => (outage = outage && outage.to === undefined ? outage : { from: Date.now() });
  const outageEnds = () => outage && outage.to === undefined && (outage.to = Date.now());
  /** Whether a lock that expired now may have expired during an outage. */
  const recentOutage = () => outage !== undefined && (outage.to === undefined || Date.now() - outage.to < lockMs + 60_000);
  seed.on('reconnecting', () => {
    if (!outage || outage.to !== undefined) o.io.err(`warning: lost Redis at ${target.display}; retrying (running cells go on)`);
    outageStarts();
  });
  seed.on('ready', () => {
    if (outage && outage.to === undefined) print(`reconnected to Redis at ${target.display}`);
    outageEnds();
  });

  const pool = new ChildPool(file, { ...process.env, [PROCESSOR_ENV]: JSON.stringify(init) });
  const running = new Map<string, { hash: string; cell: string; since: number }>();
  const cancelled = new Set<string>();
  let done = 0;
  let failed = 0;
  const startedAt = Date.now();
  const beat = async () => {
    const b: WorkerBeat = {
      name,
      dplVersion: DPL_VERSION,
      concurrency: o.concurrency,
      startedAt,
      beatAt: Date.now(),
      done,
      failed,
      running: [...running.values()],
    };
    try {
      await withTimeout(writeBeat(seed, b, beatMs * 3), Math.max(250, lockMs / 2), 'Redis did not answer');
      outageEnds();
      const flushed = await spool.flush();
      if (flushed.length) print(`published ${flushed.length} result(s) kept while Redis was unreachable: ${flushed.join(', ')}`);
    } catch {
      outageStarts();
    }
  };

  const label = (job: Job<CellJobData>) => `${cellLabel(job.data.config)} [${job.id}]`;
  const checkMs = Math.max(250, Math.min(2000, beatMs));

  /** Why this worker must drop the job, or null: it was removed, queued anew, or another worker holds it. */
  const takenAway = async (job: Job<CellJobData>, token: string | undefined): Promise<string | null> => {
    const r = await withTimeout(seed.multi().hget(KEYS.job(job.id!), 'timestamp').get(KEYS.lock(job.id!)).exec(), checkMs * 2, 'slow');
    const [ts, lock] = (r ?? []).map(([err, v]) => (err ? undefined : v)) as [string | null | undefined, string | null | undefined];
    if (ts === undefined || lock === undefined) return null;
    if (ts === null) return 'its job was removed from the queue (dpl queue clean --all --force)';
    if (Number(ts) !== job.timestamp) return 'its job was removed and queued anew';
    if (lock !== null && token && lock !== token) return 'another worker holds its job now';
    return null;
  };

  const processCell = async (job: Job<CellJobData, CellJobResult>, token?: string, signal?: AbortSignal): Promise<CellJobResult> => {
    const hash = job.id!;
    if (job.data.hash !== hash) throw new UnrecoverableError(`job ${hash} carries cell ${job.data.hash}: not a job dpl queued`);
    const refusal = versionMismatch(job.data.dplVersion);
    if (refusal) throw new UnrecoverableError(refusal);
    const before = await readResult(seed, hash);
    if (before) {
      print(`skip   ${label(job)}: its result was published before (by ${before.worker}); not run again`);
      return { hash, reused: true };
    }
    const scratchDir = o.scratch ? path.join(o.scratch, hash) : path.join(root, 'cells', hash);
    fs.mkdirSync(scratchDir, { recursive: true });
    const cellStarted = new Date().toISOString();
    running.set(hash, { hash, cell: cellLabel(job.data.config), since: Date.now() });
    void beat();
    const run = pool.run(hash, job.data.config, scratchDir, {
      progress: (p) => void job.updateProgress(p).catch(() => undefined),
      log: (m) => void job.log(m).catch(() => undefined),
    });
    const onAbort = () => run.cancel('the worker was told to cancel it');
    signal?.addEventListener('abort', onAbort);
    let checking = false;
    const watch = setInterval(() => {
      if (checking) return;
      checking = true;
      takenAway(job, token)
        .then((why) => {
          if (!why) return;
          cancelled.add(hash);
          run.cancel(why);
        })
        .catch(() => undefined) // Redis unreachable: an outage is no reason to stop a cell
        .finally(() => (checking = false));
    }, checkMs);
    let outcome;
    try {
      outcome = await run.result;
    } catch (e) {
      if (e instanceof CellCancelled) {
        print(`cancel ${label(job)}: ${e.message}; its process was stopped`);
        throw e;
      }
      const f = e as CellFailed;
      if (f.code && FINAL_CODES.has(f.code)) throw new UnrecoverableError(f.message);
      throw new Error(f.message);
    } finally {
      clearInterval(watch);
      signal?.removeEventListener('abort', onAbort);
      running.delete(hash);
      if (!o.scratch) fs.rmSync(scratchDir, { recursive: true, force: true });
    }
    const published = await spool.publish(
      {
        hash,
        cell: cellLabel(job.data.config),
        outcome,
        worker: name,
        attempts: Math.max(1, job.attemptsStarted, job.attemptsMade + 1),
        startedAt: cellStarted,
        finishedAt: new Date().toISOString(),
      },
      (f) => {
        outageStarts();
        print(`wait   ${label(job)}: finished while Redis is unreachable; its result is kept in ${f} until Redis has it`);
      },
    );
    done++;
    void beat();
    const h = outcome.headline && outcome.metrics[outcome.headline.metric];
    print(
      `done   ${label(job)}: ${outcome.headline?.metric}=${typeof h === 'number' ? +h.toPrecision(5) : h} (${outcome.seconds.toFixed(1)} s)` +
        (published ? '' : `; Redis is still unreachable: the result stays in ${spool.dir} and is published when it is back`),
    );
    return { hash, spooled: !published };
  };

  const worker = new Worker<CellJobData, CellJobResult>(QUEUE_NAME, processCell, {
    connection: seed,
    prefix: QUEUE_PREFIX,
    name,
    concurrency: o.concurrency,
    lockDuration: lockMs,
    stalledInterval: envMs('DPL_QUEUE_STALLED_MS', 30_000),
    maxStalledCount: MAX_STALLED,
    autorun: false,
  });

  worker.on('active', (job) => print(`start  ${label(job)}${job.attemptsStarted > 1 ? ` (attempt ${job.attemptsStarted})` : ''}`));
  worker.on('failed', (job, err) => {
    if (!job || err instanceof CellCancelled) return;
    const attempts = job.opts.attempts ?? 1;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= attempts;
    if (final) failed++;
    print(
      `FAILED ${label(job)}: ${firstLine(err.message)}${
        final
          ? err.name === 'UnrecoverableError' && job.attemptsMade < attempts
            ? ' (a retry cannot fix this: not retried)'
            : ''
          : ` (attempt ${job.attemptsMade} of ${attempts}; it will be retried)`
      }`,
    );
  });
  worker.on('stalled', (jobId) =>
    print(
      recentOutage()
        ? `requeued [${jobId}]: its lock expired while Redis was unreachable; it is back in the queue (a result already published is kept and the cell is not run again)`
        : `requeued [${jobId}]: the worker running it stopped answering; it is back in the queue`,
    ),
  );
  // connection trouble repeats every retry: say each distinct problem once a minute
  const said = new Map<string, number>();
  worker.on('error', (e) => {
    const key = firstLine(e.message);
    const lost = /Missing (?:lock|key) for job (\S+?)\.? (\w+)/.exec(key) ?? /could not renew lock for job (\S+)/.exec(key);
    if (lost) {
      const id = lost[1];
      if (cancelled.has(id)) return; // said when it was cancelled
      if (Date.now() - (said.get(`lost ${id}`) ?? 0) < 60_000) return;
      said.set(`lost ${id}`, Date.now());
      print(
        recentOutage()
          ? `note   [${id}]: its job lock expired while Redis was unreachable (the outage, not a dead worker); a finished result was published under its hash and is kept`
          : `note   [${id}]: this worker lost the job's lock (${key})`,
      );
      return;
    }
    if (Date.now() - (said.get(key) ?? 0) < 60_000) return;
    said.set(key, Date.now());
    o.io.err(`warning: queue: ${key}`);
  });

  let stops = 0;
  let leave: NodeJS.Timeout | undefined;
  const stop = () => {
    if (++stops === 1) {
      print('stopping: the running cells finish first (Ctrl-C again to abandon them: the queue gives them to other workers)');
      void worker.close();
      // BullMQ's close waits for Redis; with Redis gone and no cell running, do not wait forever
      leave = setInterval(
        () => {
          if (running.size || seed.status === 'ready') return;
          o.io.err(`warning: Redis at ${target.display} is unreachable; stopping without it`);
          pool.close();
          if (!spool.pending().length) fs.rmSync(root, { recursive: true, force: true });
          else
            o.io.err(
              `warning: ${spool.pending().length} result(s) not published stay in ${spool.dir}; the next worker on this machine publishes them`,
            );
          process.exit(0);
        },
        Math.max(1000, beatMs),
      );
    } else {
      print('abandoning the running cells');
      pool.close();
      process.exit(130);
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  print(
    `worker ${name}: dpl ${DPL_VERSION}, taking cells from ${target.display} with ${o.concurrency} process${o.concurrency === 1 ? '' : 'es'}` +
      (o.dataMap.length ? `; data: ${o.dataMap.map(([f, t]) => `${f} -> ${t}`).join(', ')}` : ''),
  );
  await beat();
  const beats = setInterval(() => void beat(), beatMs);
  try {
    await worker.run();
    await worker.close();
  } finally {
    clearInterval(beats);
    clearInterval(leave);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    pool.close();
    await removeBeat(seed, name).catch(() => undefined);
    await seed.quit().catch(() => undefined);
    if (!spool.pending().length) fs.rmSync(root, { recursive: true, force: true });
    else
      o.io.err(
        `warning: ${spool.pending().length} result(s) not published stay in ${spool.dir}; the next worker on this machine publishes them`,
      );
  }
  print(`worker ${name} stopped: ${done} cells done, ${failed} failed`);
  return { name, done, failed };
}
