import {
  initBackend,
  type Backbone,
  type BackendInfo,
  type BuildOptions,
  type CliHost,
  type ProgressReporter,
  type Registry,
} from '@dpl/core';
import { openRegistry, pluginMessages } from './plugins';
import { makeProgress } from './progress';
import { resolveWeights } from './weights-source';
import type { CliIO } from './io';
import { dplHome } from './home';

export interface GlobalArgs {
  backend?: string;
  plugin?: string[];
  json?: boolean;
}

/** Lazily created shared state of one CLI invocation; also the host that plugin commands receive. */
export class CliContext implements CliHost {
  private registryP?: Promise<Registry>;
  private backendP?: Promise<BackendInfo>;
  /** Where commands write. Under --json its `out` goes to stderr: stdout carries only the JSON document. */
  readonly io: CliIO;
  private readonly stdout: (line: string) => void;
  private jsonPrinted = false;
  constructor(
    io: CliIO,
    readonly args: GlobalArgs,
  ) {
    this.stdout = (line) => io.out(line);
    this.io = args.json ? { ...io, out: (line) => io.err(line) } : io;
  }

  registry(): Promise<Registry> {
    this.registryP ??= openRegistry(this.io.cwd, this.args.plugin ?? []).then((r) => {
      for (const line of pluginMessages(r)) this.io.err(line);
      return r;
    });
    return this.registryP;
  }

  backend(): Promise<BackendInfo> {
    this.backendP ??= initBackend(this.args.backend);
    return this.backendP;
  }

  /** Prints the command's one JSON document on stdout; a second one is a bug in the command. */
  json(value: unknown): void {
    if (this.jsonPrinted) throw new Error('a command printed a second JSON document');
    this.jsonPrinted = true;
    this.stdout(JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 2));
  }

  /** Under --json, a failed command's document: {"error": {code, message, fix}, "exitCode"} (unless it printed one). */
  jsonFailure(e: Error, exitCode: number): void {
    if (!this.args.json || this.jsonPrinted) return;
    const { code, hint } = e as { code?: unknown; hint?: unknown };
    const message = typeof hint === 'string' ? e.message.replace(`\n  fix: ${hint}`, '') : e.message;
    this.json({ error: { code: typeof code === 'string' ? code : 'E_INTERNAL', message, fix: hint ?? null }, exitCode });
  }

  // CliHost, for commands contributed by plugins
  get jsonOutput(): boolean {
    return Boolean(this.args.json);
  }
  get home(): string {
    return dplHome();
  }
  get version(): string {
    return DPL_VERSION;
  }
  printJson(value: unknown): void {
    this.json(value);
  }
  progress(): ProgressReporter {
    return makeProgress({ ...this.io, out: (l) => this.io.err(l) });
  }
  resolveWeights(backbone: Backbone, weights?: string, seed?: number): Promise<BuildOptions> {
    return resolveWeights(backbone, weights, seed);
  }
}

export { dplHome } from './home';

export const DPL_VERSION: string = (require('../package.json') as { version: string }).version;
