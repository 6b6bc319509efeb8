import * as os from 'node:os';
import { DplError } from '@dpl/core';
import { type Job, type JobsOptions, Queue } from 'bullmq';
import { DPL_VERSION } from '../context';
import type { CliIO } from '../io';
import { cellLabel } from '../run/grid-progress';
import type { GridSummary } from '../run/grid-record';
import { fmtSeconds } from '../run/format';
import { type CellStatus, ResultsStore } from '../store/results-store';
import type { ExpandedCell } from '../suite/grid';
import { EtaEstimator } from '../run/eta';
import { type CellJobData, type CellJobProgress, type CellJobResult, queueOwner } from './cell-job';
import { envMs, KEYS, parseRedisUrl, probeRedis, QUEUE_NAME, QUEUE_PREFIX, redisClient } from './connection';
import { type GridProgress, readBeats, writeGrid } from './presence';
import { type PublishedResult, readResults } from './results';

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

/**
 * `dpl run <suite> --queue redis://...`: the coordinator. Adds the cells to the local store, first
 * collects results that were published while no coordinator was following, then enqueues every
 * cell still without a result as a BullMQ job whose id is the cell hash (adding an existing id
 * adds nothing), and follows the queue. Workers publish each result under its cell hash
 * (results.ts), apart from the job; the coordinator writes it into the store and only then removes
 * it and the job from Redis, so a coordinator killed at any moment, a lost job lock or a Redis
 * outage loses nothing. Failures come from BullMQ's failed jobs. Ctrl-C stops following; the
 * workers go on and a later run collects what they finished.
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
  let lastOutageEnd = 0;
  client.on('reconnecting', () => {
    if (!down) o.io.err(`warning: lost the connection to Redis at ${target.display}; retrying (the workers go on; their results wait)`);
    down = true;
  });
  client.on('ready', () => {
    if (down) print(`reconnected to Redis at ${target.display}`);
    if (down) lastOutageEnd = Date.now();
    down = false;
  });
  queue.on('error', () => undefined); // reported through the client's events above

  const byHash = new Map(o.cells.map((c) => [c.hash, c]));
  const hashes = [...byHash.keys()];
  const suite = o.cells[0]?.suite ?? 'grid';
  const statusOf = () => new Map(store.cells({ hashes }).map((c) => [c.hash, c] as const));
  let ranNow = 0;
  const etaOf = new EtaEstimator(o.cells, o.prior);
  /** Cells collected whose published result or job may still be in Redis: removed once they are gone. */
  const tidy = new Set<string>();

  /** Records a published result (once: collecting it again changes nothing). */
  const collectResult = (r: PublishedResult, quiet = false): void => {
    const cell = byHash.get(r.hash)!;
    const changed = store.record(r.hash, queueOwner(r.worker), r.outcome, {
      attempts: r.attempts,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
    });
    tidy.add(r.hash);
    active = active.filter((a) => a.id !== r.hash);
    if (!changed) return;
    ranNow++;
    etaOf.record(r.hash, r.outcome.seconds);
    if (quiet) return;
    const v = r.outcome.metrics[r.outcome.headline.metric];
    print(
      `done   ${cellLabel(cell)}: ${r.outcome.headline.metric}=${typeof v === 'number' ? +v.toPrecision(5) : v} (${r.outcome.seconds.toFixed(1)} s on ${r.worker}` +
        `${r.attempts > 1 ? `, attempt ${r.attempts}` : ''}) | ${line()}`,
    );
  };

  /** Records a job that failed for good; seconds: its last attempt's run time. */
  const collectFailure = (job: CellJob, quiet = false): void => {
    const hash = job.id!;
    const before = store.get(hash);
    const finishedAt = iso(job.finishedOn);
    tidy.add(hash);
    active = active.filter((a) => a.id !== hash);
    if (before?.status === 'done' || (before?.status === 'failed' && before.finishedAt === finishedAt)) return;
    const attempts = Math.max(1, job.attemptsMade);
    const error = job.failedReason || 'the job failed without a reason';
    const seconds = job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : undefined;
    store.record(hash, queueOwner(job.processedBy), { error, seconds }, { attempts, startedAt: iso(job.processedOn), finishedAt });
    ranNow++;
    if (!quiet)
      print(
        `FAILED ${cellLabel(byHash.get(hash)!)}: ${firstLine(error)} (after ${attempts} attempt${attempts > 1 ? 's' : ''}) | ${line()}`,
      );
  };

  /** Removes collected results and their jobs from Redis; a job still locked (finishing) waits for the next poll. */
  const tidyUp = async (): Promise<void> => {
    for (const h of [...tidy]) {
      await client.hdel(KEYS.results, h);
      const job = await queue.getJob(h);
      if (
        job &&
        (await job.remove().then(
          () => false,
          () => true,
        ))
      )
        continue;
      tidy.delete(h);
    }
  };

  /** Collects what Redis holds for the cells among `wanted`: published results and final failures. */
  const collectFinished = async (wanted: Set<string>, quiet: boolean): Promise<number> => {
    let n = 0;
    for (const r of (await readResults(client, [...byHash.keys()])).values()) {
      if (wanted.delete(r.hash)) n++;
      const mine = outstanding.delete(r.hash); // first: the progress line counts it finished
      collectResult(r, quiet || !mine);
    }
    for (const job of await queue.getJobs(['failed'], 0, -1)) {
      if (!byHash.has(job.id!) || tidy.has(job.id!)) continue;
      if (wanted.delete(job.id!)) n++;
      const mine = outstanding.delete(job.id!);
      collectFailure(job, quiet || !mine);
    }
    // jobs of cells already in the store (a result collected while its job was finishing)
    for (const job of await queue.getJobs(['completed'], 0, -1))
      if (byHash.has(job.id!) && !outstanding.has(job.id!) && store.get(job.id!)?.status === 'done') tidy.add(job.id!);
    await tidyUp();
    return n;
  };
  /** Before leaving: jobs still finishing when their results were collected are removed (a few polls at most). */
  const finalTidy = async () => {
    for (let i = 0; tidy.size && i < 20; i++) {
      await collectFinished(new Set(), true);
      if (tidy.size) await sleep(pollMs, { stop: false });
    }
  };

  let active: CellJob[] = [];
  /** Cells this run waits for (set once the store and Redis have been read). */
  let outstanding = new Set<string>();
  const progress = () => {
    const c = store.counts(hashes);
    const running = active.length;
    const failed = [...store.statuses(hashes)].filter(([h, st]) => st === 'failed' && !outstanding.has(h)).length;
    const queued = Math.max(0, outstanding.size - running);
    const now = Date.now();
    const elapsed = new Map(active.map((j) => [j.id!, j.processedOn ? (now - j.processedOn) / 1000 : 0]));
    const waiting = [...outstanding].filter((h) => !elapsed.has(h));
    const eta = outstanding.size ? etaOf.remaining(waiting, elapsed, Math.max(1, running)) : undefined;
    return { done: c.done, failed, running, queued, eta };
  };
  const line = () => {
    const p = progress();
    return `${p.done}/${hashes.length} done, ${p.running} running, ${p.failed} failed, ${p.queued} queued${EtaEstimator.text(p.eta)}`;
  };
  const coordinator = `${os.hostname()}:${process.pid}`;
  const publishGrid = async (stopped = false) => {
    const p = progress();
    const g: GridProgress = {
      suite,
      store: o.storeFile,
      coordinator,
      total: hashes.length,
      done: p.done,
      failed: p.failed,
      running: p.running,
      queued: p.queued,
      etaSeconds: p.eta?.seconds,
      etaRough: p.eta?.rough,
      updatedAt: Date.now(),
      ...(stopped ? { stoppedAt: Date.now() } : {}),
    };
    await writeGrid(client, g).catch(() => undefined);
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
    const collected = await collectFinished(new Set(hashes), true);

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
      await client.hdel(KEYS.grids, suite).catch(() => undefined);
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
      removeOnComplete: false, // removed once the result is in a coordinator's store
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
    const workerCount = async () => (await readBeats(client).catch(() => [])).length;
    const workers = await workerCount();
    print(
      `${hashes.length} cells: ${before.done} finished before${collected ? ` (${collected} collected from the queue now)` : ''}, ${outstanding.size} to run` +
        ` through ${target.display} (${added} queued now, ${outstanding.size - added} already in the queue); store ${o.storeFile}; ` +
        (workers
          ? `${workers} worker${workers === 1 ? '' : 's'} connected`
          : `no worker is connected to this queue: start \`dpl worker --queue ${target.display}\` on the machines`),
    );
    await publishGrid();

    // 4. follow the queue until every cell has its result
    const shown = new Map<string, string>(); // hash -> what was last said about it
    let polls = 0;
    let lastTicker = Date.now();
    const tickerMs = envMs('DPL_QUEUE_TICKER_MS', 15_000);
    while (outstanding.size && !stop.stop) {
      await sleep(pollMs, stop);
      if (stop.stop) break;
      polls++;
      const wasActive = new Map(active.map((j) => [j.id!, j]));
      await collectFinished(new Set(), false);
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
      // a cell that was running and is back among the waiting jobs: its worker lost it
      for (const [h, j] of wasActive) {
        if (!outstanding.has(h) || active.some((a) => a.id === h)) continue;
        const state = await queue.getJobState(h);
        if (state !== 'waiting' && state !== 'prioritized') continue;
        const why =
          lastOutageEnd && j.processedOn && lastOutageEnd > j.processedOn
            ? 'its job lock expired while Redis was unreachable (a result its worker finished is kept and it is not run again)'
            : `the worker running it (${j.processedBy ?? '?'}) stopped answering or lost its lock`;
        print(`requeue ${cellLabel(byHash.get(h)!)}: back in the queue: ${why}`);
        shown.delete(h);
      }
      // completed jobs without a published result: a worker kept it while Redis was down (it
      // publishes it when it can), else it is gone (dpl queue clean): queue the cell anew
      for (const j of await queue.getJobs(['completed'], 0, -1)) {
        if (!outstanding.has(j.id!) || j.returnvalue?.spooled) continue;
        if ((await readResults(client, [j.id!])).size) continue;
        await j.remove().catch(() => undefined);
        print(`requeue ${cellLabel(byHash.get(j.id!)!)}: its job completed but its result is not in Redis (removed by dpl queue clean?)`);
      }
      // every ~10 polls: a cell whose job vanished (dpl queue clean --all meanwhile) is queued again
      if (polls % 10 === 0) {
        const requeued = await enqueue([...outstanding].filter((h) => !active.some((a) => a.id === h)));
        if (requeued) print(`requeued ${requeued} cell${requeued === 1 ? '' : 's'} whose jobs had disappeared from Redis`);
        await publishGrid();
      }
      if (Date.now() - lastTicker >= tickerMs && outstanding.size) {
        lastTicker = Date.now();
        const n = await workerCount();
        print(
          `...    ${line()}` +
            (n
              ? `; ${n} worker${n === 1 ? '' : 's'} connected`
              : `; no worker is connected to this queue: start \`dpl worker --queue ${target.display}\` on the machines`) +
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
    if (!stop.stop) await finalTidy();
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
    if (s.interrupted) await publishGrid(true);
    else await client.hdel(KEYS.grids, suite).catch(() => undefined);
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
