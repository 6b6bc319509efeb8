import { Queue } from 'bullmq';
import type { CellJobData, CellJobProgress, CellJobResult } from './cell-job';
import { parseRedisUrl, probeRedis, QUEUE_NAME, QUEUE_PREFIX, redisClient } from './connection';

export interface QueueStatus {
  queue: string;
  /** Jobs per BullMQ state; completed and failed ones wait for a coordinator to collect them. */
  counts: Record<string, number>;
  workers: { name: string; addr: string; age: number; idle: number }[];
  running: { hash: string; cell: string; worker: string | null; attempt: number; progress: CellJobProgress | null }[];
  /** Cells that failed for good and are not collected yet: their errors. */
  failed: { hash: string; cell: string; error: string }[];
}

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

async function withQueue<T>(url: string, fn: (q: Queue<CellJobData, CellJobResult>, display: string) => Promise<T>): Promise<T> {
  const target = parseRedisUrl(url);
  await probeRedis(target);
  const client = redisClient(target);
  const queue = new Queue<CellJobData, CellJobResult>(QUEUE_NAME, { connection: client, prefix: QUEUE_PREFIX });
  queue.on('error', () => undefined);
  try {
    return await fn(queue, target.display);
  } finally {
    await queue.close().catch(() => undefined);
    await client.quit();
  }
}

/** Worker names are `<prefix>:<queue>:w:<host:pid>`; show the part after `:w:`. */
const workerName = (raw: string) => (raw.includes(':w:') ? raw.slice(raw.indexOf(':w:') + 3) : raw);

/** `dpl queue status`: jobs per state, the workers connected now, what runs where, uncollected failures. */
export function queueStatus(url: string): Promise<QueueStatus> {
  return withQueue(url, async (q, display) => {
    const counts = await q.getJobCounts(...STATES);
    // BullMQ puts the queue's name in `name` and the connection's own name in `rawname`
    const workers = (await q.getWorkers()).map((w) => ({
      name: workerName(w.rawname ?? w.name ?? ''),
      addr: w.addr ?? '',
      age: Number(w.age ?? 0),
      idle: Number(w.idle ?? 0),
    }));
    const label = (d: CellJobData | undefined) =>
      d?.config ? `${d.config.task} ${d.config.backbone}@${d.config.points.join('+')} seed ${d.config.seed}` : '(not a dpl cell)';
    const running = (await q.getJobs(['active'], 0, -1)).map((j) => ({
      hash: j.id ?? '',
      cell: label(j.data),
      worker: j.processedBy ?? null,
      attempt: j.attemptsStarted,
      progress: j.progress && typeof j.progress === 'object' ? (j.progress as CellJobProgress) : null,
    }));
    const failed = (await q.getJobs(['failed'], 0, -1)).map((j) => ({
      hash: j.id ?? '',
      cell: label(j.data),
      error: (j.failedReason ?? '').split('\n')[0],
    }));
    return { queue: display, counts, workers, running, failed };
  });
}

/**
 * `dpl queue clean`: removes finished and failed jobs (results a coordinator has not collected are
 * lost: their cells run again next time); with `all`, every job of the queue, running ones too.
 */
export function queueClean(url: string, all: boolean): Promise<{ queue: string; removed: number }> {
  return withQueue(url, async (q, display) => {
    if (all) {
      const before = await q.getJobCounts(...STATES);
      await q.obliterate({ force: true });
      return { queue: display, removed: Object.values(before).reduce((a, b) => a + b, 0) };
    }
    // limit 0: no limit
    const removed = (await q.clean(0, 0, 'completed')).length + (await q.clean(0, 0, 'failed')).length;
    return { queue: display, removed };
  });
}
