import { DplError } from '@dpl/core';
import { type Job, type JobsOptions, Queue } from 'bullmq';
import { DPL_VERSION } from '../context';
import type { CliIO } from '../io';
import { cellLabel, type GridSummary } from '../run/grid-runner';
import { fmtSeconds } from '../run/format';
import { type CellStatus, ResultsStore } from '../store/results-store';
import type { ExpandedCell } from '../suite/grid';
import { EtaEstimator } from '../run/eta';
import { type CellJobData, type CellJobProgress, type CellJobResult, queueOwner } from './cell-job';
import { envMs, parseRedisUrl, probeRedis, QUEUE_NAME, QUEUE_PREFIX, redisClient } from './connection';

export interface QueueRunOptions {
  /** redis://HOST:PORT[/DB] */
  url: string;
  storeFile: string;
  cells: ExpandedCell[];
  /** Runs per cell before it is recorded failed (BullMQ attempts, exponential backoff). */
  attempts: number;
  retryFailed: boolean;
  io: CliIO;
  /** Seconds per cell from earlier runs in the store, for the ETA until this run has its own. */
  prior?: Map<string, number | undefined>;
}

type CellJob = Job<CellJobData, CellJobResult>;

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);
const firstLine = (s: string | undefined) => (s ?? '').split('\n')[0];
const sleep = (ms: number, signal: { stop: boolean }) =>
  new Promise<void>((r) => {
    const t0 = Date.now();
    const tick = () => (signal.stop || Date.now() - t0 >= ms ? r() : setTimeout(tick, Math.min(100, ms)));
    tick();
  });

/** What a worker's job becomes in the store; seconds of a failure: its last attempt's run time. */
function outcomeOf(job: CellJob, failed: boolean): CellJobResult | { error: string; seconds?: number } {
  if (!failed) return job.returnvalue;
  const secs = job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : undefined;
  return { error: job.failedReason || 'the job failed without a reason', seconds: secs };
}

/**
 * `dpl run <suite> --queue redis://...`: the coordinator. Adds the cells to the local store,
 * first collects results that finished in Redis while no coordinator was following, then enqueues
 * every cell still without a result as a BullMQ job whose id is the cell hash (adding an existing
 * id adds nothing), and follows the queue: results go into the store as they arrive and their jobs
 * are removed from Redis only after that, so a coordinator killed at any moment loses nothing.
 * Ctrl-C stops following; the workers go on and a later run collects what they finished.
 */
export async function runSuiteOnQueue(o: QueueRunOptions): Promise<GridSummary> {
  if (!Number.isInteger(o.attempts) || o.attempts < 1)
    throw new DplError('E_ARGS', `--attempts ${o.attempts}: is not a whole number >= 1`, 'e.g. --attempts 3');
  const started = Date.now();
  const target = parseRedisUrl(o.url);
  const pollMs = envMs('DPL_QUEUE_POLL_MS', 1000);
  const backoffMs = envMs('DPL_QUEUE_BACKOFF_MS', 10_000);
  await probeRedis(target);

  const store = new ResultsStore(o.storeFile);
  const client = redisClient(target);
  const queue = new Queue<CellJobData, CellJobResult>(QUEUE_NAME, { connection: client, prefix: QUEUE_PREFIX });
  const print = (line: string) => o.io.out(line);
  // the client reconnects by itself; say so once per outage instead of once per retry
  let down = false;
  client.on('reconnecting', () => {
    if (!down) o.io.err(`warning: lost the connection to Redis at ${target.display}; retrying (the workers go on; results wait in Redis)`);
    down = true;
  });
  client.on('ready', () => {
    if (down) print(`reconnected to Redis at ${target.display}`);
    down = false;
  });
  queue.on('error', () => undefined); // reported through the client's events above

  const byHash = new Map(o.cells.map((c) => [c.hash, c]));
  const hashes = [...byHash.keys()];
  const statusOf = () => new Map(store.cells({ hashes }).map((c) => [c.hash, c] as const));
  let ranNow = 0;
  const etaOf = new EtaEstimator(o.cells, o.prior);

  /** Records a finished job (once: a second collection of the same result changes nothing), then removes it. */
  const collect = async (job: CellJob, failed: boolean, quiet = false): Promise<void> => {
    const hash = job.id!;
    const cell = byHash.get(hash)!;
    const before = store.get(hash);
    const finishedAt = iso(job.finishedOn);
    const again = before?.status === 'done' || (failed && before?.status === 'failed' && before.finishedAt === finishedAt);
    if (!again) {
      const r = outcomeOf(job, failed);
      store.record(hash, queueOwner(job.processedBy), r, {
        attempts: Math.max(1, job.attemptsMade),
        startedAt: iso(job.processedOn),
        finishedAt,
      });
      ranNow++;
      if (!failed) etaOf.record(hash, (r as CellJobResult).seconds);
      if (!quiet) {
        const s = store.get(hash)!;
        const v = s.metrics && s.headline ? s.metrics[s.headline.metric] : undefined;
        print(
          failed
            ? `FAILED ${cellLabel(cell)}: ${firstLine((r as { error: string }).error)} (after ${Math.max(1, job.attemptsMade)} attempt${job.attemptsMade > 1 ? 's' : ''}) | ${line()}`
            : `done   ${cellLabel(cell)}: ${s.headline?.metric}=${typeof v === 'number' ? +v.toPrecision(5) : v} (${(r as CellJobResult).seconds.toFixed(1)} s on ${job.processedBy ?? '?'}) | ${line()}`,
        );
      }
    }
    await job.remove().catch(() => undefined); // already gone (another coordinator, dpl queue clean): fine
  };

  /** Finished jobs of this grid still in Redis. */
  const finishedJobs = async (): Promise<[CellJob, boolean][]> => {
    const [completed, failed] = await Promise.all([queue.getJobs(['completed'], 0, -1), queue.getJobs(['failed'], 0, -1)]);
    return [...completed.map((j) => [j, false] as [CellJob, boolean]), ...failed.map((j) => [j, true] as [CellJob, boolean])].filter(
      ([j]) => byHash.has(j.id!),
    );
  };

  let active: CellJob[] = [];
  /** Cells this run waits for (set once the store and Redis have been read). */
  let outstanding = new Set<string>();
  const line = () => {
    const c = store.counts(hashes);
    const left = hashes.length - c.done - c.failed;
    const running = active.length;
    const now = Date.now();
    const elapsed = new Map(active.map((j) => [j.id!, j.processedOn ? (now - j.processedOn) / 1000 : 0]));
    const waiting = [...outstanding].filter((h) => !elapsed.has(h));
    const eta = left ? EtaEstimator.text(etaOf.remaining(waiting, elapsed, Math.max(1, running))) : '';
    return `${c.done}/${hashes.length} done, ${running} running, ${c.failed} failed, ${left - running} queued${eta}`;
  };

  const stop = { stop: false };
  let stops = 0;
  const onSignal = () => {
    if (++stops === 1) {
      stop.stop = true;
      print('stopping: the workers go on with the queued cells; run the same command again to collect their results');
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    store.addCells(o.cells);
    // 1. results that arrived while no coordinator was following
    const early = await finishedJobs();
    for (const [job, failed] of early) await collect(job, failed, true);
    const collected = ranNow;

    // 2. cells still without a result (with --retry-failed: failed ones too, once)
    const wanted = (s: CellStatus | undefined) =>
      s === undefined || s === 'pending' || s === 'running' || (o.retryFailed && s === 'failed');
    const cells = statusOf();
    outstanding = new Set(hashes.filter((h) => wanted(cells.get(h)?.status)));
    const before = store.counts(hashes);
    if (!outstanding.size) {
      print(
        `all ${hashes.length} cells are finished in ${o.storeFile}${collected ? ` (${collected} collected from the queue now)` : ''}` +
          (before.failed ? `; ${before.failed} failed (--retry-failed runs them again)` : ''),
      );
      return {
        total: hashes.length,
        done: before.done,
        failed: before.failed,
        pending: 0,
        ranNow,
        interrupted: false,
        seconds: (Date.now() - started) / 1000,
      };
    }

    // 3. enqueue what Redis does not hold yet (a waiting, running or retrying job is left alone)
    const jobOpts = (): JobsOptions => ({
      attempts: o.attempts,
      backoff: { type: 'exponential', delay: backoffMs },
      removeOnComplete: false, // results stay until a coordinator has them in its store
      removeOnFail: false,
    });
    const enqueue = async (hs: string[]): Promise<number> => {
      if (!hs.length) return 0;
      const states = await Promise.all(hs.map(async (h) => [h, await queue.getJobState(h)] as const));
      const missing = states.filter(([, s]) => s === 'unknown').map(([h]) => byHash.get(h)!);
      await queue.addBulk(
        missing.map((c) => ({
          name: cellLabel(c),
          data: { hash: c.hash, config: c.config, dplVersion: DPL_VERSION, suite: c.suite },
          opts: { ...jobOpts(), jobId: c.hash },
        })),
      );
      return missing.length;
    };
    const added = await enqueue([...outstanding]);
    print(
      `${hashes.length} cells: ${before.done} finished before${collected ? ` (${collected} collected from the queue now)` : ''}, ${outstanding.size} to run` +
        ` through ${target.display} (${added} queued now, ${outstanding.size - added} already in the queue); store ${o.storeFile}`,
    );

    // 4. follow the queue until every cell has its result
    const shown = new Map<string, string>(); // hash -> what was last said about it
    let polls = 0;
    let lastTicker = Date.now();
    while (outstanding.size && !stop.stop) {
      await sleep(pollMs, stop);
      if (stop.stop) break;
      polls++;
      for (const [job, failed] of await finishedJobs()) {
        if (!outstanding.has(job.id!)) {
          await collect(job, failed, true); // finished before this run wanted it: a duplicate, tidy it away
          continue;
        }
        outstanding.delete(job.id!);
        active = active.filter((a) => a.id !== job.id);
        await collect(job, failed);
      }
      active = (await queue.getJobs(['active'], 0, -1)).filter((j) => outstanding.has(j.id!));
      for (const j of active) {
        const say = `start  ${cellLabel(byHash.get(j.id!)!)} on ${j.processedBy ?? 'a worker'}${j.attemptsStarted > 1 ? ` (attempt ${j.attemptsStarted})` : ''}`;
        if (shown.get(j.id!) !== say) print(say);
        shown.set(j.id!, say);
      }
      for (const j of (await queue.getJobs(['delayed'], 0, -1)).filter((x) => outstanding.has(x.id!) && x.attemptsMade > 0)) {
        const say = `retry  ${cellLabel(byHash.get(j.id!)!)}: attempt ${j.attemptsMade} of ${o.attempts} failed: ${firstLine(j.failedReason)}`;
        if (shown.get(j.id!) !== say) print(say);
        shown.set(j.id!, say);
      }
      // every ~10 polls: a cell whose job vanished (dpl queue clean --all meanwhile) is queued again
      if (polls % 10 === 0) {
        const requeued = await enqueue([...outstanding].filter((h) => !active.some((a) => a.id === h)));
        if (requeued) print(`requeued ${requeued} cell${requeued === 1 ? '' : 's'} whose jobs had disappeared from Redis`);
      }
      if (Date.now() - lastTicker >= 15_000 && outstanding.size) {
        lastTicker = Date.now();
        const workers = await queue.getWorkers().catch(() => []);
        print(
          `...    ${line()}` +
            (workers.length
              ? `; ${workers.length} worker${workers.length === 1 ? '' : 's'} connected`
              : `; no worker is connected: start \`dpl worker --queue ${target.display}\` on the machines`) +
            (active.length
              ? ` | ${active
                  .map((j) => {
                    const p = j.progress as Partial<CellJobProgress> | undefined;
                    return `${cellLabel(byHash.get(j.id!)!)} ${p?.label ?? ''} ${p?.total ? `${p.done}/${p.total}` : ''}`.trim();
                  })
                  .join('; ')}`
              : ''),
        );
      }
    }
    const c = store.counts(hashes);
    const s: GridSummary = {
      total: hashes.length,
      done: c.done,
      failed: c.failed,
      pending: hashes.length - c.done - c.failed,
      ranNow,
      interrupted: stop.stop,
      seconds: (Date.now() - started) / 1000,
    };
    print(
      `${s.interrupted ? 'stopped' : 'finished'}: ${s.done}/${s.total} cells done (${s.ranNow} in this run), ${s.failed} failed, ${s.pending} left; ${fmtSeconds(s.seconds)}`,
    );
    return s;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await queue.close().catch(() => undefined);
    await client.quit();
    store.close();
  }
}
