import * as os from 'node:os';
import * as path from 'node:path';
import { createRegistry, initBackend, type BackendInfo, type Registry } from '@dpl/core';
import type { CliIO } from './io';

export interface GlobalArgs {
  backend?: string;
  plugin?: string[];
  json?: boolean;
}

/** Lazily created shared state of one CLI invocation. */
export class CliContext {
  private registryP?: Promise<Registry>;
  private backendP?: Promise<BackendInfo>;
  constructor(
    readonly io: CliIO,
    readonly args: GlobalArgs,
  ) {}

  registry(): Promise<Registry> {
    this.registryP ??= createRegistry({ cwd: this.io.cwd, plugins: this.args.plugin ?? [] }).then((r) => {
      for (const f of r.failures()) this.io.err(`warning: plugin ${f.name} failed to load: ${f.error}`);
      return r;
    });
    return this.registryP;
  }

  backend(): Promise<BackendInfo> {
    this.backendP ??= initBackend(this.args.backend);
    return this.backendP;
  }

  json(value: unknown): void {
    this.io.out(JSON.stringify(value, (_k, v) => (v === Infinity ? 'Infinity' : v), 2));
  }
}

/** $DPL_HOME, default ~/.cache/dpl. */
export const dplHome = () => process.env.DPL_HOME ?? path.join(os.homedir(), '.cache', 'dpl');

export const DPL_VERSION: string = (require('../package.json') as { version: string }).version;
