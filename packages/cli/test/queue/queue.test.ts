/**
 * `dpl run <suite> --queue`, `dpl worker` and `dpl queue` against a real redis-server that the
 * tests start on a free port. Workers (and a coordinator that gets killed) run as the built CLI in
 * their own process groups; the toy task (test/fixtures/toy-task) makes cells fast, slow or failing
 * and logs every run, so duplicated or lost work shows.
 */
import * as fs from 'node:fs';
import net = require('node:net'); // the module object itself: a namespace import's properties cannot be spied on
import * as os from 'node:os';
import * as path from 'node:path';
import { queueStatus } from '../../src/queue/operator';
import { type StoredCell } from '../../src/store/results-store';
import { dpl, tmpDir } from '../helpers';
import { freePort, type RedisServer, silentServer, startRedis } from './redis-server';
import { countBy, runs, toySuite } from '../suite/toy-suite';
import { cells, exited, key, killGroup, maybe, procs, startCli, startWorker, TOY_TASK, until, workerName } from './harness';

maybe('dpl run --queue / dpl worker / dpl queue (real Redis)', () => {
  let redis: RedisServer;
  let db = 0;
  const nextUrl = () => redis.url(++db); // every test its own database

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

  it('two workers give exactly the results of the local runner (same hashes, same metrics, same backend)', async () => {
    const url = nextUrl();
    const dir = tmpDir('dpl-queue-');
    const { suite, log, store } = toySuite(dir, { delayMs: 300, backbones: ['vgg11', 'alexnet'] });
    const local = path.join(dir, 'local.sqlite');
    expect((await dpl(['run', suite, '--store', local, '--plugin', TOY_TASK, '--workers', '0'])).code).toBe(0);
    fs.rmSync(log);
    const [w1, w2] = await Promise.all([startWorker(url), startWorker(url)]);
    const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/8 cells: 0 finished before, 8 to run through redis:\/\/127\.0\.0\.1:\d+\/1 \(8 queued now/);
    expect(r.out).toMatch(/finished: 8\/8 cells done \(8 in this run\), 0 failed, 0 left/);

    const byHash = (cs: StoredCell[]) => new Map(cs.map((c) => [c.hash, c]));
    const viaQueue = byHash(cells(store));
    const viaLocal = byHash(cells(local));
    expect([...viaQueue.keys()].sort()).toEqual([...viaLocal.keys()].sort());
    for (const [h, q] of viaQueue) {
      const l = viaLocal.get(h)!;
      expect(q.status).toBe('done');
      expect(q.metrics).toEqual(l.metrics);
      expect(q.headline).toEqual(l.headline);
      expect(q.provenance).toEqual(l.provenance);
      expect(q.backend).toBe('wasm');
      expect(q.dplVersion).toBe(l.dplVersion);
      expect(q.attempts).toBe(1);
      expect(q.owner).toMatch(/^queue:.+:\d+$/);
      expect(q.seconds).toBeGreaterThan(0);
    }
    // every cell ran once, in the workers' sandboxed processes (not here), and both workers took part
    const lines = runs(log);
    expect(lines).toHaveLength(8);
    expect(new Set(lines.map((l) => l.cell)).size).toBe(8);
    expect(lines.every((l) => l.pid !== String(process.pid))).toBe(true);
    const owners = new Set([...viaQueue.values()].map((c) => c.owner));
    expect(owners).toEqual(new Set([`queue:${workerName(w1)}`, `queue:${workerName(w2)}`]));
    // collected results are removed from Redis; both workers are seen by `dpl queue status`
    const st = await dpl(['queue', 'status', '--queue', url, '--json']);
    const s = st.json<{ counts: Record<string, number>; workers: { name: string }[] }>();
    expect(Object.values(s.counts).every((n) => n === 0)).toBe(true);
    expect(s.workers.map((w) => w.name).sort()).toEqual([workerName(w1), workerName(w2)].sort());
    // a second run finds everything finished and queues nothing
    const again = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url]);
    expect(again.out).toMatch(/all 8 cells are finished/);
    expect(runs(log)).toHaveLength(8);
    // SIGTERM: a worker finishes what it runs, says so, and exits
    w1.child.kill('SIGTERM');
    expect(await exited(w1.child)).toBe(0);
    expect(w1.out()).toMatch(/stopped: \d+ cells done, 0 failed/);
  });

  it('SIGKILL of a worker mid-cell: the other worker reruns that cell; nothing is missing or duplicated', async () => {
    const url = nextUrl();
    const dir = tmpDir('dpl-queue-');
    const { suite, log, store } = toySuite(dir, { delayMs: 2500 });
    const [a, b] = await Promise.all([startWorker(url), startWorker(url)]);
    const running = dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url]);
    // both workers busy, the cell started in the sandboxed child (the toy logged it): kill the
    // worker running the first listed cell, with its child
    let victim: { hash: string; worker: string } | undefined;
    await until(async () => {
      const s = await queueStatus(url);
      const started = new Set(runs(log).map((l) => l.cell));
      const first = s.running[0];
      const cellKey = first && /^toy (\S+) seed 0$/.exec(first.cell)?.[1] + ':0';
      if (s.running.length === 2 && first.worker && started.has(cellKey)) victim = { hash: first.hash, worker: first.worker };
      return victim !== undefined;
    }, 'both workers to run a cell');
    const [dead, alive] = workerName(a) === victim!.worker ? [a, b] : [b, a];
    expect(workerName(dead)).toBe(victim!.worker);
    // SIGKILL of the worker process alone (not its group), as `kill -9 <pid>` would: its cell
    // process notices and ends; the next worker started on this machine removes its scratch folder
    const victimRow = cells(store).find((c) => c.hash === victim!.hash)!;
    const cellPid = Number(runs(log).find((l) => l.cell === key(victimRow))!.pid);
    const deadPid = dead.child.pid!;
    expect(fs.existsSync(path.join(os.tmpdir(), 'dpl-worker', String(deadPid)))).toBe(true);
    process.kill(deadPid, 'SIGKILL');
    await exited(dead.child);
    await until(() => !pidAlive(cellPid), "the killed worker's cell process to end");

    const r = await running;
    expect(r.out).toMatch(/requeue|start {2}toy \S+ seed 0 on \S+ \(attempt 2\)/); // the coordinator says the cell went back
    expect(r.code).toBe(0);
    const after = cells(store);
    expect(after.map((c) => c.status)).toEqual(['done', 'done', 'done', 'done']);
    const killed = after.find((c) => c.hash === victim!.hash)!;
    expect(killed.owner).toBe(`queue:${workerName(alive)}`); // completed by the other worker
    const perCell = countBy(runs(log).map((l) => l.cell));
    expect(perCell.size).toBe(4);
    expect(perCell.get(key(killed))).toBe(2); // started by the dead worker, then rerun
    for (const c of after) if (c.hash !== killed.hash) expect(perCell.get(key(c))).toBe(1);
    expect(alive.out()).toMatch(new RegExp(`start  toy ${killed.backbone}@${killed.points[0]} seed 0 \\[${killed.hash}\\]`));
    await startWorker(url);
    expect(fs.existsSync(path.join(os.tmpdir(), 'dpl-worker', String(deadPid)))).toBe(false);
  });

  it('kill and restart the coordinator mid-grid: results that arrived meanwhile are collected, none runs twice', async () => {
    const url = nextUrl();
    const dir = tmpDir('dpl-queue-');
    const { suite, log, store } = toySuite(dir, { delayMs: 600, backbones: ['vgg11', 'alexnet'] });
    await Promise.all([startWorker(url), startWorker(url)]);
    const coordinator = startCli(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url]);
    await until(() => fs.existsSync(store) && cells(store).filter((c) => c.status === 'done').length >= 2, 'two results in the store');
    killGroup(coordinator.child);
    await exited(coordinator.child);
    const before = cells(store).filter((c) => c.status === 'done');
    // the workers go on: wait for a result that only Redis holds (one the killed coordinator had
    // already written to the store but not yet removed may still be there: count past those)
    const leftover = (await queueStatus(url)).finished.length;
    await until(async () => (await queueStatus(url)).finished.length >= leftover + 1, 'a result waiting in Redis');

    const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\(\d+ collected from the queue now\)/);
    const after = cells(store);
    expect(after.map((c) => c.status)).toEqual(Array(8).fill('done'));
    for (const c of before) expect(after.find((x) => x.hash === c.hash)!.finishedAt).toBe(c.finishedAt); // kept as they were
    const lines = runs(log);
    expect(lines).toHaveLength(8); // enqueuing again added no job: no cell ran twice
    expect(new Set(lines.map((l) => l.cell)).size).toBe(8);
    const s = await queueStatus(url);
    expect(Object.values(s.counts).every((n) => n === 0)).toBe(true);
  });

  it('a cell that keeps failing is recorded failed after --attempts runs; the grid goes on', async () => {
    const url = nextUrl();
    const dir = tmpDir('dpl-queue-');
    const { suite, log, store } = toySuite(dir, { failOn: 'vgg11@relu2_1' });
    const w = await startWorker(url);
    const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url, '--attempts', '2']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/1 of 4 cells failed .*\n.*toy vgg11@relu2_1 seed 0 \[[0-9a-f]{16}\]: .*toy failure on vgg11@relu2_1/);
    expect(r.out).toMatch(/FAILED toy vgg11@relu2_1 seed 0: .*toy failure on vgg11@relu2_1:0 \(after 2 attempts\)/);
    expect(w.out()).toMatch(/FAILED toy vgg11@relu2_1 seed 0 \[[0-9a-f]+\]: .*toy failure.* \(attempt 1 of 2; it will be retried\)/);
    const failed = cells(store).filter((c) => c.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempts: 2, metrics: null });
    expect(failed[0].error).toMatch(/toy failure on vgg11@relu2_1/);
    expect(cells(store).filter((c) => c.status === 'done')).toHaveLength(3);
    expect(countBy(runs(log).map((l) => l.cell)).get('vgg11@relu2_1:0')).toBe(2);
    expect(runs(log)).toHaveLength(5);
    // --retry-failed queues it once more (it fails again, twice)
    const again = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url, '--attempts', '2', '--retry-failed']);
    expect(again.out).toMatch(/FAILED toy vgg11@relu2_1 seed 0: .* \| 3\/4 done, 0 running, 1 failed, 0 queued/);
    expect(again.out).not.toMatch(/-\d+ queued/);
    expect(countBy(runs(log).map((l) => l.cell)).get('vgg11@relu2_1:0')).toBe(4);
    expect(cells(store).find((c) => c.status === 'failed')!.attempts).toBe(4);
  });

  it('a worker of another dpl version refuses the job: failed at once, no retry, both versions named', async () => {
    const url = nextUrl();
    const dir = tmpDir('dpl-queue-');
    const { suite, log, store } = toySuite(dir);
    const w = await startWorker(url, { DPL_VERSION_OVERRIDE: '9.9.9-test' });
    const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url, '--filter', 'point=relu1_1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/queued by dpl \d+\.\d+\.\d+ but this worker runs dpl 9\.9\.9-test/);
    const [c] = cells(store);
    expect(c).toMatchObject({ status: 'failed', attempts: 1 });
    expect(c.error).toMatch(/refuses .*run the same dpl version on the coordinator and every worker/);
    expect(runs(log)).toHaveLength(0); // refused before running anything
    expect(w.out()).toMatch(/FAILED toy vgg11@relu1_1 seed 0 \[[0-9a-f]+\]: this cell was queued by dpl/);
  });

  it('enqueuing twice adds no job; dpl queue status counts them; clean removes finished jobs, --all everything', async () => {
    const url = nextUrl();
    const dir = tmpDir('dpl-queue-');
    const { suite, store } = toySuite(dir);
    for (let i = 0; i < 2; i++) {
      // a coordinator with no worker: it queues, waits, and is killed
      const c = startCli(['run', suite, '--store', store, '--plugin', TOY_TASK, '--queue', url]);
      await until(() => /to run through/.test(c.out()), 'the coordinator to queue the cells');
      expect(c.out()).toMatch(i === 0 ? /\(4 queued now, 0 already in the queue\)/ : /\(0 queued now, 4 already in the queue\)/);
      killGroup(c.child);
      await exited(c.child);
    }
    const st = await dpl(['queue', 'status', '--queue', url]);
    expect(st.code).toBe(0);
    expect(st.out).toMatch(/: 4 waiting, 0 running, 0 waiting to retry, 0 done and 0 failed not yet collected/);
    expect(st.out).toMatch(/no worker on this queue/);
    const clean = await dpl(['queue', 'clean', '--queue', url, '--json']);
    expect(clean.json<{ removed: number }>().removed).toBe(0); // waiting jobs are not finished ones
    expect((await queueStatus(url)).counts.waiting).toBe(4);
    const all = await dpl(['queue', 'clean', '--queue', url, '--all', '--json']);
    expect(all.json<{ removed: number }>().removed).toBe(4);
    expect(Object.values((await queueStatus(url)).counts).every((n) => n === 0)).toBe(true);
  });

  it('a Redis URL that does not answer gives a clear error after one connection attempt (run, worker, queue)', async () => {
    const dir = tmpDir('dpl-queue-');
    // "quickly" counted, not timed: each command makes one connection attempt to the URL, never a retry loop
    const connects = jest.spyOn(net, 'createConnection');
    const attempts = (port: number) => connects.mock.calls.filter((args: unknown[]) => (args[0] as { port?: number }).port === port).length;
    const { suite } = toySuite(dir);
    const port = await freePort();
    const refused = `redis://127.0.0.1:${port}/0`;
    for (const args of [
      ['run', suite, '--store', path.join(dir, 'r.sqlite'), '--plugin', TOY_TASK, '--queue', refused],
      ['worker', '--queue', refused],
      ['queue', 'status', '--queue', refused],
    ]) {
      connects.mockClear();
      const r = await dpl(args);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0: .*ECONNREFUSED`));
      expect(r.err).toMatch(/fix: start redis-server/);
      expect(attempts(port)).toBe(1);
    }
    const silent = await silentServer();
    process.env.DPL_REDIS_CONNECT_TIMEOUT_MS = '700';
    try {
      connects.mockClear();
      const r = await dpl([
        'run',
        suite,
        '--store',
        path.join(dir, 'r.sqlite'),
        '--plugin',
        TOY_TASK,
        '--queue',
        `redis://127.0.0.1:${silent.port}`,
      ]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/cannot reach Redis at .*did not answer within 700 ms/);
      expect(attempts(silent.port)).toBe(1);
    } finally {
      connects.mockRestore();
      delete process.env.DPL_REDIS_CONNECT_TIMEOUT_MS;
      await silent.close();
    }
    const bad = await dpl(['queue', 'status', '--queue', 'http://127.0.0.1:6379']);
    expect(bad.err).toMatch(/--queue http:\/\/127\.0\.0\.1:6379: the scheme must be redis:\/\//);
  });
});

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
