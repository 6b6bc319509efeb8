import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import type { CellOutcome } from '../store/results-store';
import { KEYS, withTimeout } from './connection';

/**
 * A finished cell as a worker publishes it: keyed by the cell's content hash in the queue's
 * database (HSETNX: the first result of a cell stays, a second is the same work), written before
 * and independently of BullMQ's job completion, so a lost job lock or a Redis outage while the
 * cell finishes loses nothing. The coordinator collects these into its store.
 */
export interface PublishedResult {
  /** The cell hash the worker ran; the coordinator checks it against the key. */
  hash: string;
  /** The cell's label, for `dpl queue status`. */
  cell: string;
  outcome: CellOutcome;
  /** The worker's name (`host:pid`). */
  worker: string;
  /** Runs of this cell in the queue so far, this one included. */
  attempts: number;
  startedAt: string;
  finishedAt: string;
}

const parse = (hash: string, raw: string | null | undefined): PublishedResult | undefined => {
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as PublishedResult;
    return r && r.hash === hash && r.outcome && typeof r.outcome === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
};

/** The published results of these cells (absent, unreadable or mislabelled entries left out). */
export async function readResults(client: Redis, hashes: string[]): Promise<Map<string, PublishedResult>> {
  const out = new Map<string, PublishedResult>();
  for (let i = 0; i < hashes.length; i += 500) {
    const part = hashes.slice(i, i + 500);
    const raws = await client.hmget(KEYS.results, ...part);
    part.forEach((h, j) => {
      const r = parse(h, raws[j]);
      if (r) out.set(h, r);
    });
  }
  return out;
}

/** Every published result not collected yet. */
export async function allResults(client: Redis): Promise<PublishedResult[]> {
  const all = await client.hgetall(KEYS.results);
  return Object.entries(all).flatMap(([h, raw]) => parse(h, raw) ?? []);
}

export async function readResult(client: Redis, hash: string): Promise<PublishedResult | undefined> {
  return parse(hash, await client.hget(KEYS.results, hash));
}

/**
 * Publishes results, keeping each in a spool file (`<dir>/<hash>.json`) until Redis has it: a
 * worker that finishes a cell while Redis is down retries with backoff for `boundMs`, then leaves
 * the file for `flush` (each heartbeat, and the next worker start on this machine).
 */
export class ResultSpool {
  constructor(
    readonly dir: string,
    private readonly client: Redis,
    private readonly o: { tryMs: number; boundMs: number; maxBackoffMs: number },
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  private file = (hash: string) => path.join(this.dir, `${hash}.json`);

  /** One try: HSETNX within `tryMs`; true when Redis has the result (now or before). */
  private async tryOnce(r: PublishedResult): Promise<boolean> {
    try {
      await withTimeout(this.client.hsetnx(KEYS.results, r.hash, JSON.stringify(r)), this.o.tryMs, 'Redis did not answer');
      fs.rmSync(this.file(r.hash), { force: true });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Spools, then publishes; retries with doubling waits up to `boundMs`. Returns whether it was
   * published; `onWait` hears about the first failed try (once).
   */
  async publish(r: PublishedResult, onWait?: (file: string) => void): Promise<boolean> {
    fs.writeFileSync(this.file(r.hash), JSON.stringify(r));
    const t0 = Date.now();
    let wait = 250;
    for (let i = 0; ; i++) {
      if (await this.tryOnce(r)) return true;
      if (i === 0) onWait?.(this.file(r.hash));
      if (Date.now() - t0 + wait > this.o.boundMs) return false;
      await new Promise((res) => setTimeout(res, wait));
      wait = Math.min(wait * 2, this.o.maxBackoffMs);
    }
  }

  /** Publishes what a spool folder holds (this worker's, or a dead worker's); returns the hashes published. */
  async flush(dir = this.dir): Promise<string[]> {
    if (!fs.existsSync(dir)) return [];
    const done: string[] = [];
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      const hash = f.slice(0, -5);
      const r = parse(hash, fs.readFileSync(path.join(dir, f), 'utf8'));
      if (!r) continue;
      if (dir !== this.dir) fs.writeFileSync(this.file(hash), JSON.stringify(r)); // adopt it, then publish
      if (await this.tryOnce(r)) done.push(hash);
      else break; // Redis is down: try again later
      fs.rmSync(path.join(dir, f), { force: true });
    }
    return done;
  }

  pending(): string[] {
    return fs.existsSync(this.dir) ? fs.readdirSync(this.dir).filter((f) => f.endsWith('.json')) : [];
  }
}
