/**
 * The queue under operations (issue 21): a Redis outage longer than the job lock while a cell
 * finishes, `dpl queue clean --all --force` during a run, a database index the server lacks,
 * workers on another database, `dpl queue status | head -1`, failures no retry can fix and ones a
 * retry does. Every test checks the store's rows against a local run of the same suite: every cell
 * once, the same metrics. Waits are on conditions (output lines, the toy task's run log), bounded
 * only as a failsafe; nothing asserts on elapsed time.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { KEYS } from '../../src/queue/connection';
import { queueStatus } from '../../src/queue/operator';
import type { StoredCell } from '../../src/store/results-store';
import { dpl, tmpDir } from '../helpers';
import { countBy, runs, toySuite } from '../suite/toy-suite';
import { cells, exited, key, killGroup, MAIN, maybe, procs, sleep, startCli, startWorker, TOY_TASK, until } from './harness';
import { type RedisServer, startRedis } from './redis-server';

/** A local run of the suite (this process's runner, no queue): the reference rows. */
async function localRun(suite: string, dir: string, log: string, extra: string[] = []): Promise<Map<string, StoredCell>> {
  const local = path.join(dir, 'local.sqlite');
  await dpl(['run', suite, '--store', local, '--plugin', TOY_TASK, '--workers', '0', ...extra]);
  fs.rmSync(log, { force: true });
  return new Map(cells(local).map((c) => [c.hash, c]));
}

/** The queue's store holds every cell of the local run once, done ones with the local metrics. */
function expectLikeLocal(store: string, local: Map<string, StoredCell>): StoredCell[] {
  const rows = cells(store);
  expect(rows.map((c) => c.hash).sort()).toEqual([...local.keys()].sort());
  expect(new Set(rows.map((c) => c.hash)).size).toBe(rows.length);
  for (const c of rows) {
    const l = local.get(c.hash)!;
    expect(c.status).toBe(l.status);
    expect(c.metrics).toEqual(l.metrics);
    expect(c.headline).toEqual(l.headline);
  }
  return rows;
}

maybe('the queue under operations (real Redis)', () => {
  let redis: RedisServer;
  let db = 0;
  const nextUrl = () => redis.url(++db);

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      killGroup(p.child);
      await exited(p.child);
    }
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('Redis down longer than the job lock while a cell finishes: the result is kept, published after, and the cell is not rerun', async () => {
    const dir = tmpDir('dpl-outage-');
    fs.mkdirSync(path.join(dir, 'redis'));
    const own = await startRedis({ dir: path.join(dir, 'redis') });
    try {
      const url = own.url(0);
      const lock = { DPL_QUEUE_LOCK_MS: '1000', DPL_QUEUE_STALLED_MS: '500' };
      const { suite, log, store } = toySuite(dir, { delayMs: 3000 }); // long enough to stop Redis mid-cell
      const local = await localRun(suite, dir, log);
      const w = await startWorker(url, lock);
      const coordinator = startCli(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url]);
      await until(() => runs(log).length >= 1, 'the first cell to start');
      await own.shutdown(); // while that cell computes
      await until(
        () => /wait {3}toy .*finished while Redis is unreachable; its result is kept in /.test(w.out()),
        'the cell to finish during the outage',
      );
      await sleep(2500); // make the outage outlast the 1 s lock: the job's lock is gone when Redis is back
      await own.start(); // same port, from its AOF
      expect(await exited(coordinator.child)).toBe(0);
      expect(coordinator.out()).toMatch(/finished: 4\/4 cells done \(4 in this run\), 0 failed, 0 left/);

      expectLikeLocal(store, local);
      expect(cells(store).every((c) => c.attempts === 1)).toBe(true);
      // each cell computed exactly once: the one that finished during the outage was not rerun
      expect(runs(log)).toHaveLength(4);
      expect(countBy(runs(log).map((l) => l.cell)).size).toBe(4);
      // the lock loss is reported as the outage, not as a dead worker
      const out = w.out();
      expect(out).toMatch(/published 1 result\(s\) kept while Redis was unreachable|lock expired while Redis was unreachable/);
      expect(out).not.toMatch(/stopped answering/);
      expect(out).toMatch(
        /its job lock expired while Redis was unreachable \(the outage, not a dead worker\)|skip {3}toy .*not run again|requeued .*its lock expired while Redis was unreachable/,
      );
      const s = await queueStatus(url);
      expect(s.finished).toEqual([]); // collected and removed
      expect(Object.values(s.counts).every((n) => n === 0)).toBe(true);
    } finally {
      await own.stop();
    }
  });

  it('clean --all is refused while cells run; with --force the workers drop them and no result goes to the wrong cell', async () => {
    const url = nextUrl();
    const dir = tmpDir('dpl-clean-');
    const { suite, log, store } = toySuite(dir, { delayMs: 6000, backbones: ['vgg11', 'alexnet'] }); // still running when clean comes
    const local = await localRun(suite, dir, log);
    const [a, b] = await Promise.all([startWorker(url), startWorker(url)]);
    const coordinator = startCli(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url]);
    await until(async () => (await queueStatus(url)).running.length === 2 && runs(log).length >= 2, 'two cells running');
    const refused = await dpl(['queue', 'clean', '--queue', url, '--all']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /clean --all: [12] cells? (is|are) running on workers of [\s\S]*fix: stop the coordinator and the workers first, or add --force/,
    );
    const kept = await queueStatus(url); // nothing removed
    expect(kept.running.length).toBeGreaterThanOrEqual(1);
    expect(Object.values(kept.counts).reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(7);
    const forced = await dpl(['queue', 'clean', '--queue', url, '--all', '--force', '--json']);
    expect(forced.code).toBe(0);
    expect(forced.json<{ removed: number }>().removed).toBeGreaterThanOrEqual(7); // 2 running, 6 waiting (one may have finished)

    expect(await exited(coordinator.child)).toBe(0);
    expect(coordinator.out()).toMatch(/requeued \d+ cells? whose jobs had disappeared from Redis/);
    expectLikeLocal(store, local); // the metrics of each hash are its own cell's (checked against the local run)
    const cancelled = [...`${a.out()}\n${b.out()}`.matchAll(/cancel toy (\S+) seed 0 \[([0-9a-f]+)\]: its job was removed/g)].map(
      (m) => m[1],
    );
    expect(cancelled.length).toBeGreaterThanOrEqual(1);
    const perCell = countBy(runs(log).map((l) => l.cell));
    expect(perCell.size).toBe(8);
    for (const c of cancelled) expect(perCell.get(`${c}:0`)).toBe(2); // dropped, then run again from the new job
    expect(`${a.out()}${b.out()}${coordinator.out()}`).not.toMatch(/not idling|answered for cell/);
  });

  it('a database index the server does not have is an error; workers on another database are not counted', async () => {
    for (const args of [
      ['queue', 'status'],
      ['worker', '--plugin', TOY_TASK],
    ]) {
      const r = await dpl([...args, '--queue', redis.url(99)]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/--queue redis:\/\/127\.0\.0\.1:\d+\/99: database 99 does not exist on that server \(it has 16: 0 to 15\)/);
    }
    const mine = nextUrl();
    const other = nextUrl();
    const dir = tmpDir('dpl-db-');
    const { suite, store } = toySuite(dir);
    const w = await startWorker(other);
    expect((await queueStatus(other)).workers.map((x) => x.name)).toEqual([/worker (\S+): dpl/.exec(w.out())![1]]);
    expect((await queueStatus(mine)).workers).toEqual([]);
    const c = startCli(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', mine]);
    await until(() => /to run through/.test(c.out()), 'the coordinator to queue its cells');
    expect(c.out()).toMatch(/no worker is connected to this queue: start `dpl worker --queue redis:\/\/127\.0\.0\.1:\d+\/\d+`/);
    killGroup(c.child);
    await exited(c.child);
    expect(cells(store).every((x) => x.status === 'pending')).toBe(true); // the other database's worker took nothing
    expect(w.out()).not.toMatch(/start {2}toy/);
  });

  it('dpl queue status | head -1 ends quietly', async () => {
    const url = nextUrl();
    // many results waiting for a coordinator: status prints far more than a pipe holds
    const client = new Redis(url);
    const fake = (i: number) => {
      const hash = i.toString(16).padStart(16, '0');
      return [
        hash,
        JSON.stringify({
          hash,
          cell: `toy vgg11@relu1_1 seed ${i}`,
          worker: 'elsewhere:1',
          attempts: 1,
          startedAt: '2026-01-01T00:00:00.000Z',
          finishedAt: '2026-01-01T00:00:01.000Z',
          outcome: {
            metrics: { m: i },
            headline: { metric: 'm', higherIsBetter: true },
            provenance: { kind: 'random', seed: 0 },
            backend: 'wasm',
            dplVersion: '0',
            seconds: 1,
          },
        }),
      ];
    };
    await client.hset(KEYS.results, Object.fromEntries(Array.from({ length: 4000 }, (_, i) => fake(i))));
    await client.quit();
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const sh = spawn('sh', ['-c', `"${process.execPath}" "${MAIN}" queue status --queue ${url} | head -1`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
      sh.stderr.on('data', (d: Buffer) => (err += d.toString()));
      sh.on('exit', (code) => resolve({ code, out, err }));
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^queue redis:\/\/127\.0\.0\.1:\d+\/\d+: 0 waiting, 0 running, 0 waiting to retry, 4000 done and 0 failed not yet collected by a coordinator\n$/,
    );
  });

  it('a failure no retry can fix fails after one attempt; a passing one is retried and its attempts recorded', async () => {
    const url = nextUrl();
    const dir = tmpDir('dpl-final-');
    const { suite, log, store } = toySuite(dir, { failOn: 'vgg11@relu2_1', failInput: true });
    const local = await localRun(suite, dir, log);
    const w = await startWorker(url);
    const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url, '--attempts', '3']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED toy vgg11@relu2_1 seed 0: .*does not exist .* \(after 1 attempt\)/);
    expect(w.out()).toMatch(/FAILED toy vgg11@relu2_1 seed 0 \[[0-9a-f]+\]: .*does not exist.*\(a retry cannot fix this: not retried\)/);
    const rows = expectLikeLocal(store, local);
    expect(rows.find((c) => c.status === 'failed')).toMatchObject({ attempts: 1 });
    expect(rows.find((c) => c.status === 'failed')!.error).toMatch(/data folder \/no\/such\/toy-data: does not exist/);
    expect(countBy(runs(log).map((l) => l.cell)).get('vgg11@relu2_1:0')).toBe(1);

    // a passing fault: fails once, succeeds on the retry; the store says 2 attempts
    const dir2 = tmpDir('dpl-flaky-');
    const flaky = toySuite(dir2, { failOn: 'vgg11@relu3_2', failFirstOnly: true });
    const local2 = path.join(dir2, 'local.sqlite');
    await dpl(['run', flaky.suite, '--store', local2, '--plugin', TOY_TASK, '--workers', '0']);
    await dpl(['run', flaky.suite, '--store', local2, '--plugin', TOY_TASK, '--workers', '0', '--retry-failed']);
    const ref = new Map(cells(local2).map((c) => [c.hash, c]));
    fs.rmSync(flaky.log);
    const r2 = await dpl(['run', flaky.suite, '--store', flaky.store, '--plugin', TOY_TASK, '--queue', url, '--attempts', '3']);
    expect(r2.code === 0 ? '' : `${r2.out}\n${r2.err}`).toBe('');
    expect(r2.out).not.toMatch(/-\d+ queued/);
    const rows2 = expectLikeLocal(flaky.store, ref);
    const retried = rows2.find((c) => key(c) === 'vgg11@relu3_2:0')!;
    expect(retried).toMatchObject({ status: 'done', attempts: 2 });
    expect(rows2.filter((c) => c !== retried).every((c) => c.attempts === 1)).toBe(true);
  });

  it('a refused password is an authentication error, not "cannot reach"', async () => {
    const locked = await startRedis({ args: ['--requirepass', 'sesame'] });
    try {
      const wrong = await dpl(['queue', 'status', '--queue', `redis://:nope@127.0.0.1:${locked.port}/0`]);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+\/0 refused the login: WRONGPASS[\s\S]*fix: check the password/);
      expect(wrong.err).not.toMatch(/cannot reach/);
      const none = await dpl(['queue', 'status', '--queue', locked.url(0)]);
      expect(none.err).toMatch(/refused the login: NOAUTH[\s\S]*fix: that server needs a password/);
      const right = await dpl(['queue', 'status', '--queue', `redis://:sesame@127.0.0.1:${locked.port}/0`]);
      expect(right.code).toBe(0);
    } finally {
      await locked.stop();
    }
  });
});
