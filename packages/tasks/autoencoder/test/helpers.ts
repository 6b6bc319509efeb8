import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskTestContext, type FeatureExtractor, type RecordedProgress, type TaskContext } from '@dpl/core';
import { autoencoderTask } from '../src/task';
import { referencePython } from '@dpl/core/testkit';

const made: string[] = [];

/** A fresh temporary folder, removed by cleanupTmp(). */
export function tmp(prefix = 'dpl-ae-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every folder tmp() made in this test file. */
export function cleanupTmp(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export { lossNetwork } from '../../test/study-networks';

export { recordingProgress as recorder, type RecordedProgress } from '@dpl/core';

/** A task context over `net` with the quick preset and `overrides`. */
export function context(
  net: FeatureExtractor,
  o: { points?: string[]; dataRoot?: string; scratchDir?: string; overrides?: Record<string, unknown>; seed?: number } = {},
): TaskContext & { progress: RecordedProgress } {
  return taskTestContext(autoencoderTask, net, {
    ...o,
    points: o.points ?? [],
    scratchDir: o.scratchDir ?? tmp('dpl-ae-scratch-'),
  });
}

/** Whether the reference Python (the test kit's referencePython) imports `module`. */
export function pythonHas(module: string): boolean {
  try {
    execFileSync(referencePython().python, ['-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a Python script with the reference Python; returns stdout. */
export function python(script: string, args: string[] = []): string {
  return execFileSync(referencePython().python, ['-c', script, ...args], { encoding: 'utf8' });
}
