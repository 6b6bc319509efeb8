import type { Redis } from 'ioredis';
import { KEYS } from './connection';

/**
 * A worker's heartbeat: a key with a TTL in the queue's own database (so workers of another
 * database or another queue on the same server are not counted), refreshed every heartbeat and at
 * each cell start and end. A worker whose key expired is gone (killed, lost its machine or Redis).
 */
export interface WorkerBeat {
  name: string;
  dplVersion: string;
  concurrency: number;
  startedAt: number;
  /** When this beat was written (ms since the epoch). */
  beatAt: number;
  done: number;
  failed: number;
  running: { hash: string; cell: string; since: number }[];
}

export async function writeBeat(client: Redis, beat: WorkerBeat, ttlMs: number): Promise<void> {
  await client.set(KEYS.worker(beat.name), JSON.stringify(beat), 'PX', ttlMs);
}

export async function removeBeat(client: Redis, name: string): Promise<void> {
  await client.del(KEYS.worker(name));
}

/** The workers whose heartbeat is alive on this queue's database. */
export async function readBeats(client: Redis): Promise<WorkerBeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', KEYS.workerPattern, 'COUNT', 500);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  if (!keys.length) return [];
  const raws = await client.mget(...keys);
  return raws
    .flatMap((r) => {
      try {
        return r ? [JSON.parse(r) as WorkerBeat] : [];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** What a coordinator says about its grid, for `dpl queue status` (HASH field: the suite name). */
export interface GridProgress {
  suite: string;
  store: string;
  coordinator: string;
  total: number;
  done: number;
  failed: number;
  running: number;
  queued: number;
  /** Seconds left, when an estimate exists. */
  etaSeconds?: number;
  etaRough?: boolean;
  updatedAt: number;
  /** Set when the coordinator stopped following (Ctrl-C): the workers go on. */
  stoppedAt?: number;
}

export async function writeGrid(client: Redis, g: GridProgress): Promise<void> {
  await client.hset(KEYS.grids, g.suite, JSON.stringify(g));
}

export async function readGrids(client: Redis): Promise<GridProgress[]> {
  const all = await client.hgetall(KEYS.grids);
  return Object.values(all).flatMap((r) => {
    try {
      return [JSON.parse(r) as GridProgress];
    } catch {
      return [];
    }
  });
}
