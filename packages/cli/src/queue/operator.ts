import { DplError } from '@dpl/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CellJobData, CellJobProgress, CellJobResult } from './cell-job';
import { KEYS, parseRedisUrl, probeRedis, QUEUE_NAME, QUEUE_PREFIX, redisClient } from './connection';
import { type GridProgress, readBeats, readGrids } from './presence';
import { allResults } from './results';

export interface QueueStatus {
  queue: string;
  /** When this was read (ms since the epoch). */
  at: number;
  /** Jobs per BullMQ state. */
  counts: Record<string, number>;
  /** Grids their coordinators follow (or followed: `stoppedAt`), with progress and ETA. */
  grids: GridProgress[];
  /** Workers with a live heartbeat on this queue's database. */
  workers: {
    name: string;
    dplVersion: string;
    lastBeatSeconds: number;
    uptimeSeconds: number;
    done: number;
    failed: number;
    current: string[];
  }[];
  running: {
    hash: string;
    cell: string;
    worker: string | null;
    /** False when that worker has no live heartbeat: it is gone and the cell goes back to the queue. */
    workerAlive: boolean;
    attempt: number;
    elapsedSeconds: number;
    progress: CellJobProgress | null;
  }[];
  /** Cells waiting for their next try after a failure. */
  retrying: { hash: string; cell: string; attempt: number; attempts: number; lastError: string; nextTryAt: string | null }[];
  /** Finished cells whose results wait in Redis for a coordinator. */
  finished: { hash: string; cell: string; worker: string; finishedAt: string }[];
  /** Cells that failed for good and are not collected yet: their errors. */
  failed: { hash: string; cell: string; attempts: number; error: string }[];
}

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

type CellQueue = Queue<CellJobData, CellJobResult>;

async function withQueue<T>(url: string, fn: (q: CellQueue, client: Redis, display: string) => Promise<T>): Promise<T> {
  const target = parseRedisUrl(url);
  await probeRedis(target);
  const client = redisClient(target);
  const queue = new Queue<CellJobData, CellJobResult>(QUEUE_NAME, { connection: client, prefix: QUEUE_PREFIX });
  queue.on('error', () => undefined);
  try {
    return await fn(queue, client, target.display);
  } finally {
    await queue.close().catch(() => undefined);
    await client.quit();
  }
}

const label = (d: { task: string; backbone: string; points: string[]; seed: number } | undefined) =>
  d ? `${d.task} ${d.backbone}@${d.points.join('+')} seed ${d.seed}` : '(not a dpl cell)';

/** `dpl queue status`: grids, workers (heartbeats), what runs where, retries, results waiting for a coordinator. */
export function queueStatus(url: string): Promise<QueueStatus> {
  return withQueue(url, async (q, client, display) => {
    const at = Date.now();
    const counts = await q.getJobCounts(...STATES);
    const beats = await readBeats(client);
    const alive = new Set(beats.map((b) => b.name));
    const workers = beats.map((b) => ({
      name: b.name,
      dplVersion: b.dplVersion,
      lastBeatSeconds: Math.max(0, (at - b.beatAt) / 1000),
      uptimeSeconds: Math.max(0, (at - b.startedAt) / 1000),
      done: b.done,
      failed: b.failed,
      current: b.running.map((r) => `${r.cell} [${r.hash}]`),
    }));
    const running = (await q.getJobs(['active'], 0, -1)).map((j) => ({
      hash: j.id ?? '',
      cell: label(j.data?.config),
      worker: j.processedBy ?? null,
      workerAlive: j.processedBy ? alive.has(j.processedBy) : false,
      attempt: j.attemptsStarted,
      elapsedSeconds: j.processedOn ? Math.max(0, (at - j.processedOn) / 1000) : 0,
      progress: j.progress && typeof j.progress === 'object' ? (j.progress as CellJobProgress) : null,
    }));
    const delayed = await q.getJobs(['delayed'], 0, -1);
    const retrying = await Promise.all(
      delayed.map(async (j) => {
        // BullMQ scores delayed jobs by (time to run) * 0x1000 + a counter
        const score = await client.zscore(`${QUEUE_PREFIX}:${QUEUE_NAME}:delayed`, j.id ?? '');
        return {
          hash: j.id ?? '',
          cell: label(j.data?.config),
          attempt: j.attemptsMade,
          attempts: j.opts.attempts ?? 1,
          lastError: (j.failedReason ?? '').split('\n')[0],
          nextTryAt: score ? new Date(Math.floor(Number(score) / 0x1000)).toISOString() : null,
        };
      }),
    );
    const finished = (await allResults(client)).map((r) => ({ hash: r.hash, cell: r.cell, worker: r.worker, finishedAt: r.finishedAt }));
    const failed = (await q.getJobs(['failed'], 0, -1)).map((j) => ({
      hash: j.id ?? '',
      cell: label(j.data?.config),
      attempts: j.attemptsMade,
      error: (j.failedReason ?? '').split('\n')[0],
    }));
    const grids = await readGrids(client);
    return { queue: display, at, counts, grids, workers, running, retrying, finished, failed };
  });
}

/**
 * `dpl queue clean`: removes finished and failed jobs and published results (results a coordinator
 * has not collected are lost: their cells run again next time); with `all`, every job of the queue.
 * With jobs running, `all` is refused unless `force`: then the workers stop those cells (they
 * check that their job still exists) and a coordinator still following queues them anew.
 */
export function queueClean(url: string, all: boolean, force = false): Promise<{ queue: string; removed: number; results: number }> {
  return withQueue(url, async (q, client, display) => {
    const results = await client.hlen(KEYS.results);
    if (all) {
      const before = await q.getJobCounts(...STATES);
      if (before.active && !force)
        throw new DplError(
          'E_QUEUE',
          `dpl queue clean --all: ${before.active} cell${before.active === 1 ? ' is' : 's are'} running on workers of ${display}`,
          'stop the coordinator and the workers first, or add --force (the workers drop those cells; a coordinator still following queues them anew)',
        );
      await q.obliterate({ force: true });
      await client.del(KEYS.results, KEYS.grids);
      return { queue: display, removed: Object.values(before).reduce((a, b) => a + b, 0), results };
    }
    // limit 0: no limit
    const removed = (await q.clean(0, 0, 'completed')).length + (await q.clean(0, 0, 'failed')).length;
    await client.del(KEYS.results);
    return { queue: display, removed, results };
  });
}
