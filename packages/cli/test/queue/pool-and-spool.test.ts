/**
 * The worker's two safety nets, without a full grid: the cell-process pool never lets a process
 * answer for a cell it was not given (a fake cell process misbehaves on purpose), and the result
 * spool keeps a result while Redis is down and publishes it when Redis is back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { CellCancelled, CellFailed, ChildPool } from '../../src/queue/child-pool';
import { KEYS } from '../../src/queue/connection';
import { readResult, ResultSpool, type PublishedResult } from '../../src/queue/results';
import type { CellConfig } from '../../src/suite/grid';
import { tmpDir } from '../helpers';
import { hasRedis, noRedisReason, startRedis } from './redis-server';

/** A fake cell process: its behaviour per cell hash (`ok`, `other`, `slow`, `die`). */
const FAKE = `
process.on('message', (m) => {
  const outcome = { metrics: { m: 1 }, headline: { metric: 'm', higherIsBetter: true }, provenance: { kind: 'random', seed: 0 }, backend: 'fake', dplVersion: '0', seconds: 0 };
  if (m.hash.startsWith('ok')) process.send({ type: 'end', hash: m.hash, ok: true, outcome: { ...outcome, pid: process.pid } });
  else if (m.hash.startsWith('other')) process.send({ type: 'end', hash: 'someone-else', ok: true, outcome });
  else if (m.hash.startsWith('die')) process.exit(7);
  // slow: never answers
});
`;

const config = {} as CellConfig;

describe('ChildPool: one cell per process, answers checked by hash', () => {
  const dir = tmpDir('dpl-pool-');
  const file = path.join(dir, 'fake-cell.js');
  fs.writeFileSync(file, FAKE);

  it('reuses a process only after it answered for its own cell; wrong answers, deaths and cancels kill it', async () => {
    const pool = new ChildPool(file, process.env);
    try {
      const a = (await pool.run('ok-1', config, dir, {}).result) as unknown as { pid: number };
      const b = (await pool.run('ok-2', config, dir, {}).result) as unknown as { pid: number };
      expect(b.pid).toBe(a.pid); // an idle process is reused
      expect(pool.size).toBe(1);

      // two cells at once: two processes, never one process for both
      const [c, d] = (await Promise.all([
        pool.run('ok-3', config, dir, {}).result,
        pool.run('ok-4', config, dir, {}).result,
      ])) as unknown as {
        pid: number;
      }[];
      expect(c.pid).not.toBe(d.pid);

      // an answer for another cell is refused, and that process is not reused
      await expect(pool.run('other-1', config, dir, {}).result).rejects.toThrow(/answered for cell someone-else while running other-1/);
      await expect(pool.run('die-1', config, dir, {}).result).rejects.toThrow(CellFailed);
      const slow = pool.run('slow-1', config, dir, {});
      slow.cancel('its job was removed');
      await expect(slow.result).rejects.toThrow(CellCancelled);
      const e = (await pool.run('ok-5', config, dir, {}).result) as unknown as { pid: number };
      // the two idle processes took other-1 and die-1 and are gone; slow-1's was killed: a fresh one runs ok-5
      expect([a.pid, c.pid, d.pid]).not.toContain(e.pid);
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 100 && [a.pid, c.pid, d.pid].some(alive); i++) await new Promise((r) => setTimeout(r, 50));
      expect([a.pid, c.pid, d.pid].filter(alive)).toEqual([]);
      expect(pool.size).toBe(1);
    } finally {
      pool.close();
    }
  });
});

const maybe = hasRedis ? describe : describe.skip;
if (!hasRedis) console.warn(`spool test skipped: ${noRedisReason}`);

maybe('ResultSpool: a result finished while Redis is down is kept and published later', () => {
  it('keeps the file when publishing fails, publishes it on flush, and a second result of the cell does not replace the first', async () => {
    const dir = tmpDir('dpl-spool-');
    fs.mkdirSync(path.join(dir, 'redis'));
    const redis = await startRedis({ dir: path.join(dir, 'redis') });
    const client = new Redis(redis.url(0), { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    try {
      const spool = new ResultSpool(path.join(dir, 'spool'), client, { tryMs: 200, boundMs: 600, maxBackoffMs: 200 });
      const result = (v: number): PublishedResult => ({
        hash: 'abc',
        cell: 'toy',
        worker: 'w:1',
        attempts: 1,
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:00:01.000Z',
        outcome: {
          metrics: { m: v },
          headline: { metric: 'm', higherIsBetter: true },
          provenance: { kind: 'random', seed: 0 },
          backend: 'wasm',
          dplVersion: '0',
          seconds: 1,
        },
      });
      await redis.shutdown();
      let waited = '';
      expect(await spool.publish(result(1), (f) => (waited = f))).toBe(false);
      expect(waited).toBe(path.join(dir, 'spool', 'abc.json'));
      expect(spool.pending()).toEqual(['abc.json']);
      await redis.start();
      await new Promise<void>((r) => (client.status === 'ready' ? r() : client.once('ready', () => r())));
      expect(await spool.flush()).toEqual(['abc']);
      expect(spool.pending()).toEqual([]);
      expect((await readResult(client, 'abc'))!.outcome.metrics).toEqual({ m: 1 });
      // HSETNX: the first result of a cell stays
      expect(await spool.publish(result(2))).toBe(true);
      expect((await readResult(client, 'abc'))!.outcome.metrics).toEqual({ m: 1 });
      // an entry under another cell's key is not taken for that cell
      await client.hset(KEYS.results, 'xyz', JSON.stringify(result(3)));
      expect(await readResult(client, 'xyz')).toBeUndefined();
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
