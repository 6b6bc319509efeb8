/**
 * Shared by the queue tests: the built CLI as coordinator and workers in their own process groups,
 * against a real redis-server the tests start (redis-server.ts), with small lock and stall intervals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResultsStore, type StoredCell } from '../../src/store/results-store';
import { ROOT } from '../helpers';
import { hasRedis, noRedisReason } from './redis-server';

export const TOY_TASK = path.join(ROOT, 'test', 'fixtures', 'toy-task');
export const MAIN = path.join(ROOT, 'packages', 'cli', 'dist', 'main.js');
export const PROCESSOR = path.join(ROOT, 'packages', 'cli', 'dist', 'queue', 'cell-child.js');

// small lock and stall intervals so a killed worker's cell is retried within seconds; quick polls
export const TUNING = { DPL_QUEUE_LOCK_MS: '3000', DPL_QUEUE_STALLED_MS: '1500', DPL_QUEUE_POLL_MS: '200', DPL_QUEUE_BACKOFF_MS: '200' };
Object.assign(process.env, TUNING, { DPL_BACKEND: 'wasm' });

const built = fs.existsSync(MAIN) && fs.existsSync(PROCESSOR);
export const skipReason = !hasRedis ? noRedisReason : !built ? `${PROCESSOR} is not built (npm run build)` : '';
if (skipReason) console.warn(`queue tests skipped: ${skipReason}`);
export const maybe = skipReason ? describe.skip : describe;

export const key = (c: { backbone: string; points: string[] }) => `${c.backbone}@${c.points[0]}:0`;

export function cells(file: string): StoredCell[] {
  const s = new ResultsStore(file);
  try {
    return s.cells();
  } finally {
    s.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 45_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export interface Proc {
  child: ChildProcess;
  out: () => string;
}
export const procs: Proc[] = [];

/** The built CLI in its own process group (so a SIGKILL takes its sandboxed children too). */
export function startCli(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...TUNING, DPL_BACKEND: 'wasm', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const p = { child, out: () => out };
  procs.push(p);
  return p;
}

export async function startWorker(url: string, env: Record<string, string> = {}): Promise<Proc> {
  const w = startCli(['worker', '--queue', url, '--plugin', TOY_TASK, '--concurrency', '1'], env);
  await until(() => /taking cells from/.test(w.out()), 'a worker to start');
  return w;
}

export const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.on('exit', (code) => r(code))));
export const killGroup = (c: ChildProcess) => {
  try {
    process.kill(-c.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
};

/** `host:pid` as the worker printed it at start. */
export function workerName(p: Proc): string {
  return /worker (\S+): dpl/.exec(p.out())![1];
}
