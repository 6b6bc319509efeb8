import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResultsStore } from '../../src/store/results-store';
import { dpl, ROOT, tmpDir } from '../helpers';
import { countBy, runs, toySuite } from './toy-suite';

process.env.DPL_BACKEND = 'wasm';
const TOY_TASK = path.join(ROOT, 'test', 'fixtures', 'toy-task');
const MAIN = path.join(ROOT, 'packages', 'cli', 'dist', 'main.js');

function withStore<T>(file: string, fn: (s: ResultsStore) => T): T {
  const s = new ResultsStore(file);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, DPL_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}
const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.on('exit', (code) => r(code))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await sleep(100);
  }
}
const builtCli = fs.existsSync(MAIN);
const needsBuild = builtCli ? it : it.skip;
if (!builtCli) console.warn(`runner process tests skipped: ${MAIN} is not built (npm run build)`);

describe('dpl run <suite>', () => {
  it('runs every cell into the store once; a second run finds them finished; results carry provenance and version', async () => {
    const dir = tmpDir('dpl-runner-');
    const { suite, log, store } = toySuite(dir);
    const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '0']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/finished: 4\/4 cells done \(4 in this run\), 0 failed/);
    const cells = withStore(store, (s) => s.cells());
    expect(cells.map((c) => c.status)).toEqual(['done', 'done', 'done', 'done']);
    for (const c of cells) {
      expect(c.metrics![`msq_${c.points[0]}`]).toBeGreaterThan(0);
      expect(c.provenance).toEqual({ kind: 'random', seed: 0 });
      expect(c.backend).toBe('wasm');
      expect(c.dplVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(c.seconds).toBeGreaterThan(0);
    }
    const again = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '0']);
    expect(again.out).toMatch(/all 4 cells are finished/);
    expect(runs(log)).toHaveLength(4);
    // a dry run lists the grid with statuses and an estimate from the earlier run
    const dry = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--dry-run', '--json']);
    const d = dry.json<{ cells: { status: string; estSeconds: number }[]; cost: { toRun: number } }>();
    expect(d.cells.map((c) => c.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(d.cost.toRun).toBe(0);
    expect(d.cells[0].estSeconds).toBeGreaterThan(0);
  });

  it('a failing cell records its error and the others finish; --retry-failed runs it again', async () => {
    const dir = tmpDir('dpl-runner-');
    const { suite, log, store } = toySuite(dir, { failOn: 'vgg11@relu2_1' });
    const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/1 of 4 cells failed .*\n.*toy vgg11@relu2_1 seed 0 \[[0-9a-f]{16}\]: (Error: )?toy failure on vgg11@relu2_1/);
    const failed = withStore(store, (s) => s.cells({ status: ['failed'] }));
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatch(/toy failure on vgg11@relu2_1/);
    expect(withStore(store, (s) => s.counts()).done).toBe(3);
    // without --retry-failed nothing runs; with it, only the failed cell
    expect((await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '0'])).out).toMatch(
      /all 4 cells are finished .*1 failed/,
    );
    await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '0', '--retry-failed']);
    expect(countBy(runs(log).map((x) => x.cell)).get('vgg11@relu2_1:0')).toBe(2);
    expect(runs(log)).toHaveLength(5);
    expect(withStore(store, (s) => s.cells({ status: ['failed'] }))[0].attempts).toBe(2);
  });

  it('--filter narrows the grid and names a filter that matches nothing', async () => {
    const dir = tmpDir('dpl-runner-');
    const { suite, store } = toySuite(dir, { backbones: ['vgg11', 'alexnet'] });
    const r = await dpl([
      'run',
      suite,
      '--store',
      store,
      '--plugin',
      TOY_TASK,
      '--workers',
      '0',
      '--filter',
      'backbone=alexnet point=relu1|relu5',
    ]);
    expect(r.code).toBe(0);
    expect(withStore(store, (s) => s.cells().map((c) => `${c.backbone}@${c.points[0]}`))).toEqual(['alexnet@relu1', 'alexnet@relu5']);
    const none = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--filter', 'backbone=resnet*']);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/--filter backbone=resnet\*: matches none of the suite's cells/);
  });

  needsBuild('runs cells in worker processes, each with its own backend', async () => {
    const dir = tmpDir('dpl-runner-');
    const { suite, log, store } = toySuite(dir, { delayMs: 300, backbones: ['vgg11', 'alexnet'] });
    const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '2']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/8 to run on 2 processes/);
    const lines = runs(log);
    expect(lines).toHaveLength(8);
    expect(new Set(lines.map((l) => l.cell)).size).toBe(8);
    expect(new Set(lines.map((l) => l.pid)).size).toBe(2);
    expect(lines.every((l) => l.pid !== String(process.pid))).toBe(true);
    expect(withStore(store, (s) => s.counts()).done).toBe(8);
  });

  needsBuild('SIGKILL of the whole runner mid-grid: finished cells are kept, none runs twice, the rest run on restart', async () => {
    const dir = tmpDir('dpl-runner-');
    const { suite, log, store } = toySuite(dir, { delayMs: 1200, backbones: ['vgg11', 'alexnet'] });
    const args = [suite, '--store', store, '--plugin', TOY_TASK, '--workers', '1'];
    const first = start(['run', ...args]);
    await until(() => fs.existsSync(store) && withStore(store, (s) => s.counts().done) >= 2);
    process.kill(-first.pid!, 'SIGKILL'); // the runner and its worker, no chance to clean up
    await exited(first);
    const before = withStore(store, (s) => s.cells({ status: ['done'] }));
    expect(withStore(store, (s) => s.counts().running)).toBe(1); // the killed cell, owner dead
    const second = start(['run', ...args]);
    expect(await exited(second)).toBe(0);
    const after = withStore(store, (s) => s.cells());
    expect(after.map((c) => c.status)).toEqual(Array(8).fill('done'));
    for (const b of before) expect(after.find((c) => c.hash === b.hash)!.finishedAt).toBe(b.finishedAt); // kept, not rerun
    const perCell = countBy(runs(log).map((l) => l.cell));
    expect(perCell.size).toBe(8);
    // every cell finished before the kill ran exactly once; only the killed one may have started twice
    const key = (c: { backbone: string; points: string[] }) => `${c.backbone}@${c.points[0]}:0`;
    for (const b of before) expect(perCell.get(key(b))).toBe(1);
    expect([...perCell.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);
  });

  needsBuild('Ctrl-C (SIGINT) stops cleanly: the running cell goes back to pending', async () => {
    const dir = tmpDir('dpl-runner-');
    const { suite, store } = toySuite(dir, { delayMs: 3000 });
    const child = start(['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '1']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => /start {2}toy/.test(out));
    process.kill(child.pid!, 'SIGINT');
    expect(await exited(child)).toBe(0);
    expect(out).toMatch(/stopped toy vgg11@relu1_1 seed 0 \(back to pending\)/);
    expect(withStore(store, (s) => s.counts())).toEqual({ pending: 4, running: 0, done: 0, failed: 0 });
  });

  needsBuild('two runners on one store never run the same cell twice', async () => {
    const dir = tmpDir('dpl-runner-');
    const { suite, log, store } = toySuite(dir, { delayMs: 200, backbones: ['vgg11', 'alexnet'] });
    const args = ['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '1'];
    const a = start(args);
    await sleep(300);
    const b = start(args);
    expect(await Promise.all([exited(a), exited(b)])).toEqual([0, 0]);
    const lines = runs(log);
    expect(lines).toHaveLength(8);
    expect(new Set(lines.map((l) => l.cell)).size).toBe(8);
    expect(withStore(store, (s) => s.cells().every((c) => c.status === 'done' && c.attempts === 1))).toBe(true);
  });
});
