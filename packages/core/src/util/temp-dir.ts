import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Temporary folders that are removed on success, on failure and when the process ends, including
 * by SIGINT/SIGTERM. Every folder made here is registered until it is removed; an 'exit' hook
 * removes what is left. For SIGINT/SIGTERM: when no one else listens for the signal, the folders
 * are removed and the signal is raised again so that the process ends as it would have (exit status
 * 128+n); when the program has its own handler (a graceful shutdown), that handler decides and the
 * 'exit' hook cleans up when the process does end. SIGKILL cannot be caught: nothing can clean up.
 */

const live = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let installed = false;

function removeAll(): void {
  for (const dir of live) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort on the way out: a folder we cannot remove is not worth a crash at exit
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another handler owns shutdown: let it run; our 'exit' hook removes the folders later.
  if (process.listenerCount(signal) > 1) return;
  removeAll();
  uninstall();
  process.kill(process.pid, signal);
}

const handlers = new Map<NodeJS.Signals, () => void>(SIGNALS.map((s) => [s, () => onSignal(s)]));

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', removeAll);
  for (const [s, h] of handlers) process.on(s, h);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', removeAll);
  for (const [s, h] of handlers) process.removeListener(s, h);
}

/** Creates `<os.tmpdir()>/<prefix>XXXXXX` and registers it for removal at exit or on a signal. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  live.add(dir);
  install();
  return dir;
}

/** Removes a folder made by makeTempDir (and its content) and forgets it. */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  live.delete(dir);
  // With nothing left to clean, leave the process's signal behaviour exactly as it was.
  if (live.size === 0) uninstall();
}

/** Runs `fn` with a fresh temporary folder that is removed afterwards, whether `fn` succeeds or throws. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    removeTempDir(dir);
  }
}

/** The folders made by makeTempDir and not yet removed (for tests and diagnostics). */
export function liveTempDirs(): string[] {
  return [...live];
}
