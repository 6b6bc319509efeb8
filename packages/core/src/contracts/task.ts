import type { TaskConfigSchema } from './task-schema';
import type { FeatureExtractor, WeightsProvenance } from './backbone';

/** Progress of long work: the CLI renders it as a bar on a TTY and plain lines otherwise. */
export interface ProgressReporter {
  start(label: string, total?: number): void;
  tick(n?: number, info?: Record<string, number | string>): void;
  log(message: string): void;
  done(): void;
}

/** What a task runs with; `C` is the task's config type (see defineTask). */
export interface TaskContext<C extends Record<string, unknown> = Record<string, unknown>> {
  /** The loss network, already built. */
  lossNetwork: FeatureExtractor;
  /** Extraction point names on the loss network. */
  points: string[];
  /** The task's resolved configuration (preset merged with overrides). */
  config: C;
  /** Root folder of the task's dataset, or undefined for the synthetic stand-in. */
  dataRoot?: string;
  seed: number;
  progress: ProgressReporter;
  /** A directory the task may write to (checkpoints, samples). */
  scratchDir: string;
  /** Cancelled when the user interrupts. */
  signal?: AbortSignal;
}

/** What a task run returns: plain JSON metrics, the headline metric and the weights' provenance. */
export interface TaskResult {
  task: string;
  /** metric name -> value; the first is the headline metric. */
  metrics: Record<string, number>;
  /** per-split (or per-test-set) metrics. */
  splits?: Record<string, Record<string, number>>;
  /** Which metric ranks networks, and whether higher is better. */
  headline: { metric: string; higherIsBetter: boolean };
  provenance: WeightsProvenance;
  backend: string;
  /** Anything else worth keeping (timings, files written). */
  detail?: Record<string, unknown>;
}

/** A named set of config values ('paper' for the study's, 'quick' for a CPU-sized run). */
export interface TaskPreset {
  name: string;
  description: string;
  config: Record<string, unknown>;
}

/**
 * A task plugin. `C` is its config type (what resolveConfig returns). `run` takes the config the
 * host passes back in ctx.config and checks it: write a task with defineTask, whose run then gets
 * it checked and typed.
 */
export interface Task<C extends Record<string, unknown> = Record<string, unknown>> {
  readonly id: string;
  readonly description: string;
  /** 'paper' (the study's settings) and 'quick' (CPU-sized) at least. */
  readonly presets: TaskPreset[];
  /** Every config key as a JSON Schema property with a description (what `dpl describe <task>` prints). */
  readonly configSchema?: TaskConfigSchema;
  /** Validates a config (preset merged with overrides) and returns it with defaults filled; throws naming a bad key. */
  resolveConfig(preset: string, overrides?: Record<string, unknown>): C;
  run(ctx: TaskContext): Promise<TaskResult>;
}
