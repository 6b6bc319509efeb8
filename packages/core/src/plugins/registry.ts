import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, ContainerModule } from 'inversify';
import type { Backbone } from '../contracts/backbone';
import type { PluginInfo } from '../contracts/plugin';
import type { Task } from '../contracts/task';
import { configError, DplError, unknownBackbone } from '../errors';
import type { CliCommand } from '../contracts/cli-command';
import { BackboneToken, CliCommandToken, TaskToken } from '../tokens';
import { discoverPlugins, locatePlugin, type FoundPlugin } from './discover';

export interface RegistryOptions {
  /** Where discovery starts (default process.cwd()). */
  cwd?: string;
  /** Extra plugins: package names or folder paths (`--plugin`). */
  plugins?: string[];
  /** Scan the workspace and node_modules (default true). */
  discover?: boolean;
  /** Modules to load directly (tests, embedding). */
  modules?: ContainerModule[];
}

/** The DI container with every loaded plugin, and what was found. */
export class Registry {
  constructor(
    readonly container: Container,
    readonly plugins: PluginInfo[],
  ) {}

  backbones(): Backbone[] {
    return this.container.isBound(BackboneToken) ? this.container.getAll<Backbone>(BackboneToken) : [];
  }

  backbone(id: string): Backbone {
    const all = this.backbones();
    const b = all.find((x) => x.id === id);
    if (!b) throw unknownBackbone(id, all.map((x) => x.id).sort());
    return b;
  }

  tasks(): Task[] {
    return this.container.isBound(TaskToken) ? this.container.getAll<Task>(TaskToken) : [];
  }

  task(id: string): Task {
    const all = this.tasks();
    const t = all.find((x) => x.id === id);
    if (!t)
      throw new DplError(
        'E_UNKNOWN_TASK',
        `unknown task '${id}'`,
        `use one of: ${
          all
            .map((x) => x.id)
            .sort()
            .join(', ') || '(none installed)'
        }`,
      );
    return t;
  }

  /** CLI commands contributed by plugins. */
  commands(): CliCommand[] {
    return this.container.isBound(CliCommandToken) ? this.container.getAll<CliCommand>(CliCommandToken) : [];
  }

  /** Plugins that failed to load, with their errors. */
  failures(): PluginInfo[] {
    return this.plugins.filter((p) => p.error);
  }
}

function readConfigPlugins(cwd: string): string[] {
  const file = path.join(cwd, 'dpl.config.json');
  if (!fs.existsSync(file)) return [];
  let cfg: unknown;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw configError(file, `is not valid JSON (${(e as Error).message})`, 'fix the syntax or remove the file');
  }
  const plugins = (cfg as { plugins?: unknown }).plugins;
  if (plugins === undefined) return [];
  if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== 'string')) {
    throw configError(file, '"plugins" must be an array of package names or paths', 'e.g. { "plugins": ["./my-backbone"] }');
  }
  return plugins as string[];
}

function isContainerModule(m: unknown): m is ContainerModule {
  return typeof m === 'object' && m !== null && typeof (m as { load?: unknown }).load === 'function';
}

/** Validates a manifest and loads its module into the container; throws a message on failure. */
async function loadOne(container: Container, f: FoundPlugin): Promise<PluginInfo['kind']> {
  const m = f.manifest as { kind?: unknown; module?: unknown };
  if (typeof m !== 'object' || m === null || (m.kind !== 'backbone' && m.kind !== 'task') || typeof m.module !== 'string') {
    throw new Error('invalid "dpl" manifest: expected { "kind": "backbone" | "task", "module": "./dist/plugin.js" }');
  }
  const file = path.resolve(f.dir, m.module);
  if (!fs.existsSync(file)) throw new Error(`module ${m.module} does not exist (${file}); build the package first`);
  const exported = require(file) as { default?: unknown };
  const mod = exported.default ?? exported;
  if (!isContainerModule(mod)) throw new Error(`module ${m.module} does not default-export an inversify ContainerModule`);
  await container.load(mod);
  return m.kind;
}

/** Finds, validates and loads plugins. A broken plugin is recorded with its error; the others load. */
export async function createRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const cwd = opts.cwd ?? process.cwd();
  const container = new Container();
  const infos: PluginInfo[] = [];
  const candidates: (FoundPlugin | { error: string; name: string; source: PluginInfo['source'] })[] = [];
  if (opts.discover !== false) candidates.push(...discoverPlugins(cwd));
  for (const spec of readConfigPlugins(cwd)) candidates.push({ source: 'config', ...locatePlugin(spec, cwd, 'config') });
  for (const spec of opts.plugins ?? []) candidates.push({ source: 'explicit', ...locatePlugin(spec, cwd, 'explicit') });
  const loaded = new Set<string>();
  for (const c of candidates) {
    if ('error' in c) {
      infos.push({ name: c.name, version: '', kind: 'backbone', dir: '', source: c.source, error: c.error });
      continue;
    }
    if (loaded.has(c.name)) continue; // the same package found twice (workspace and node_modules)
    loaded.add(c.name);
    const info: PluginInfo = { name: c.name, version: c.version, kind: 'backbone', dir: c.dir, source: c.source };
    const kind = (c.manifest as { kind?: unknown })?.kind;
    if (kind === 'task') info.kind = 'task';
    const before = new Set(idsOf(container));
    try {
      info.kind = await loadOne(container, c);
      const dup = duplicateIds(container, before);
      if (dup.length) info.error = `provides ids already provided by another plugin: ${dup.join(', ')}`;
    } catch (e) {
      info.error = (e as Error).message;
    }
    infos.push(info);
  }
  for (const m of opts.modules ?? []) await container.load(m);
  return new Registry(container, infos);
}

function idsOf(container: Container): string[] {
  const ids: string[] = [];
  for (const token of [BackboneToken, TaskToken]) {
    if (container.isBound(token)) ids.push(...container.getAll<{ id: string }>(token).map((x) => x.id));
  }
  return ids;
}

function duplicateIds(container: Container, before: Set<string>): string[] {
  const now = idsOf(container);
  const counts = new Map<string, number>();
  for (const id of now) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].filter(([id, n]) => n > 1 && before.has(id)).map(([id]) => id);
}

/** The ContainerModule a backbone plugin default-exports. */
export function backbonePlugin(backbones: Backbone[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const b of backbones) bind<Backbone>(BackboneToken).toConstantValue(b);
  });
}

/** The ContainerModule a task plugin default-exports. */
export function taskPlugin(tasks: Task[], commands: CliCommand[] = []): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const t of tasks) bind<Task>(TaskToken).toConstantValue(t);
    for (const c of commands) bind<CliCommand>(CliCommandToken).toConstantValue(c);
  });
}
