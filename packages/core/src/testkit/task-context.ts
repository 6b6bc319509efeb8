/**
 * Test helpers for task plugins (ours and third parties'): a progress reporter that records what
 * a task reports, and a TaskContext over a built loss network with a preset and overrides.
 */
import type { FeatureExtractor } from '../contracts/backbone';
import type { ProgressReporter, Task, TaskContext } from '../contracts/task';
import { isDplError } from '../errors';

/** A ProgressReporter that records what a task reported, for assertions. */
export interface RecordedProgress extends ProgressReporter {
  starts: { label: string; total?: number }[];
  ticks: number;
  logs: string[];
}

/** A ProgressReporter that keeps every start, the tick count and every logged line. */
export function recordingProgress(): RecordedProgress {
  const r: RecordedProgress = {
    starts: [],
    ticks: 0,
    logs: [],
    start: (label, total) => r.starts.push({ label, total }),
    tick: (n = 1) => {
      r.ticks += n;
    },
    log: (m) => r.logs.push(m),
    done: () => undefined,
  };
  return r;
}

/** Options of taskTestContext: points, scratch folder, preset and overrides, data root, seed, signal. */
export interface TaskTestContextOptions {
  points: string[];
  scratchDir: string;
  /** Default 'quick'. */
  preset?: string;
  overrides?: Record<string, unknown>;
  /** Undefined: the task's synthetic data. */
  dataRoot?: string;
  /** Default 0. */
  seed?: number;
  signal?: AbortSignal;
}

/** A context for `task.run` over `net`: the preset resolved with the overrides, progress recorded. */
export function taskTestContext(
  task: Task,
  net: FeatureExtractor,
  o: TaskTestContextOptions,
): TaskContext & { progress: RecordedProgress } {
  return {
    lossNetwork: net,
    points: o.points,
    config: task.resolveConfig(o.preset ?? 'quick', o.overrides),
    dataRoot: o.dataRoot,
    seed: o.seed ?? 0,
    progress: recordingProgress(),
    scratchDir: o.scratchDir,
    signal: o.signal,
  };
}

/** The message of the DplError `f` throws; throws itself when `f` returns or throws something else. */
export function dplErrorMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isDplError(e)) return e.message;
    throw new Error(`expected a DplError, got: ${String(e)}`);
  }
  throw new Error('expected a DplError, but nothing was thrown');
}
