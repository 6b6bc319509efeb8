/**
 * The runner's cell folders (<tmp>/dpl-cell-*) are removed after a cell succeeds or fails, when the
 * runner is stopped by SIGINT/SIGTERM, and when a worker is killed with SIGKILL (by the runner).
 * The CLI runs as a child process (the built dist/main.js) with TMPDIR pointed at a fresh folder,
 * and the test reads what is left there. (The helper's own signal handling is tested on a child
 * process in packages/core/test/util/temp-dir.test.ts.) Nothing here measures time: the test
 * waits on the toy task's log and on the folder's content.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, tmpDir } from '../helpers';
import { runs, toySuite } from './toy-suite';

const TOY_TASK = path.join(ROOT, 'test', 'fixtures', 'toy-task');
const MAIN = path.join(ROOT, 'packages', 'cli', 'dist', 'main.js');
const built = fs.existsSync(MAIN);
const needsBuild = built ? it : it.skip;
if (!built) console.warn(`temp-folder tests skipped: ${MAIN} is not built (npm run build)`);

let tmp: string;
beforeEach(() => (tmp = tmpDir('dpl-tmpdir-')));
const cellDirs = () => fs.readdirSync(tmp).filter((n) => n.startsWith('dpl-cell-'));

function start(args: string[]): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [MAIN, ...args, '--plugin', TOY_TASK], {
    env: { ...process.env, DPL_BACKEND: 'wasm', TMPDIR: tmp },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  return { child, exit: new Promise((r) => child.on('exit', (code, signal) => r({ code, signal }))) };
}

/** Polls (no time limit of its own: jest's test timeout bounds it) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 50));
}

describe('cell folders', () => {
  it.each(['0', '1'])('are removed after cells that succeed and cells that fail (--workers %s)', async (workers) => {
    if (!built) return;
    const { suite, store, log } = toySuite(tmpDir('dpl-runner-'), { failOn: 'vgg11@relu2_1' });
    const { exit } = start(['run', suite, '--store', store, '--workers', workers]);
    expect((await exit).code).toBe(1); // one cell failed
    expect(runs(log)).toHaveLength(4);
    expect(cellDirs()).toEqual([]);
  });

  needsBuild('are removed after dpl run --task', async () => {
    const { exit } = start(['run', '--task', 'toy', '--backbone', 'vgg11', '--weights', 'random', '--set', 'size=32']);
    expect((await exit).code).toBe(0);
    expect(cellDirs()).toEqual([]);
  });

  it.each([
    ['SIGINT', '1'],
    ['SIGTERM', '0'],
  ] as const)('are removed when the runner is stopped by %s mid-cell (--workers %s)', async (sig, workers) => {
    if (!built) return;
    const { suite, store } = toySuite(tmpDir('dpl-runner-'), { delayMs: 60_000 });
    const { child, exit } = start(['run', suite, '--store', store, '--workers', workers]);
    await until(() => cellDirs().length > 0);
    child.kill(sig);
    await exit;
    expect(cellDirs()).toEqual([]);
  });

  needsBuild('of a worker killed with SIGKILL mid-cell are removed by the runner', async () => {
    const { suite, store, log } = toySuite(tmpDir('dpl-runner-'), { delayMs: 2000 });
    const { exit } = start(['run', suite, '--store', store, '--workers', '1']);
    await until(() => runs(log).length > 0 && cellDirs().length > 0);
    const pid = Number(runs(log)[0].pid);
    expect(cellDirs()).toEqual([expect.stringMatching(new RegExp(`^dpl-cell-${pid}-`))]);
    process.kill(pid, 'SIGKILL');
    expect((await exit).code).toBe(1); // the killed cell is recorded as failed; a new worker runs the rest
    expect(cellDirs()).toEqual([]);
  });
});
