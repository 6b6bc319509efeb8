import type { Argv } from 'yargs';
import type { BackendInfo } from '../backend';
import type { Backbone, BuildOptions } from './backbone';
import type { PluginCatalog } from './plugin';
import type { ProgressReporter } from './task';

/** Where a command writes: stdout carries results (only JSON under --json), stderr progress and notes. */
export interface CliHostIO {
  out(line: string): void;
  err(line: string): void;
  readonly cwd: string;
  /** True when stdout is a terminal (progress bars). */
  readonly tty: boolean;
}

/**
 * What the dpl host gives a command contributed by a plugin: the same services the built-in
 * commands use, so a plugin command needs nothing from @dpl/cli.
 */
export interface CliHost {
  readonly io: CliHostIO;
  /** The global `--json` flag: print one JSON document on stdout, nothing else. */
  readonly jsonOutput: boolean;
  /** $DPL_HOME (weight and model caches). */
  readonly home: string;
  /** The host's dpl version (recorded in outputs). */
  readonly version: string;
  registry(): Promise<PluginCatalog>;
  backend(): Promise<BackendInfo>;
  /** Prints one JSON document on stdout. */
  printJson(value: unknown): void;
  /** A progress reporter on stderr (a bar on a TTY, plain lines otherwise). */
  progress(): ProgressReporter;
  /** Build options from `--weights FILE`, `--seed N`, or the weight cache, in that order. */
  resolveWeights(backbone: Backbone, weights?: string, seed?: number): Promise<BuildOptions>;
}

/**
 * A CLI command a plugin contributes (bound to `CliCommandToken`): a yargs command module whose
 * handler also receives the host. Errors thrown as DplError print as the built-in commands' do.
 */
export interface CliCommand<A = Record<string, unknown>> {
  /** yargs command string, e.g. 'similarity [a] [b]'. */
  command: string;
  describe: string;
  builder?: (yargs: Argv) => Argv<A> | Argv;
  handler(args: A, host: CliHost): Promise<void>;
}
