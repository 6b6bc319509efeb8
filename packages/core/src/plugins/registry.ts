import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, ContainerModule } from 'inversify';
import type { Backbone } from '../contracts/backbone';
import type { CliCommand } from '../contracts/cli-command';
import type { PluginCatalog, PluginInfo, PluginSource } from '../contracts/plugin';
import type { Task } from '../contracts/task';
import { DplError, unknownBackbone } from '../errors';
import { BackboneToken, CliCommandToken, TaskToken } from '../tokens';
import {
  checkContributions,
  checkGraph,
  contributionsOf,
  idOf,
  KINDS,
  singular,
  type ContributionKind,
  type Contributions,
} from './contributions';
import { configuredPlugins, defaultPlugins, locatePlugin, projectPlugins, type FoundPlugin, type MissingPlugin } from './discover';
import { shareHostModules } from './host-modules';
import { checkManifest } from './manifest';

/** Where createRegistry looks for plugins (start folder, --plugin, DPL_PLUGINS, defaults) and modules to load directly. */
export interface RegistryOptions {
  /** Where discovery starts (default process.cwd()). */
  cwd?: string;
  /** Plugins named on the command line (`--plugin`): package names or folder paths. */
  plugins?: string[];
  /** Plugins from the environment (default: DPL_PLUGINS split on the path delimiter). */
  envPlugins?: string[];
  /** The host application's package folder: its declared dependencies are the default plugins. */
  defaultsFrom?: string;
  /** Discover plugins (defaults, project, config, DPL_PLUGINS; default true). False: only `plugins` and `modules`. */
  discover?: boolean;
  /** Modules to load directly (tests, embedding). */
  modules?: ContainerModule[];
}

const TOKENS = { backbones: BackboneToken, tasks: TaskToken, commands: CliCommandToken } as const;

/** Explicit places beat implicit ones (a package of the same name; an id registered by both). */
const RANK: Record<PluginSource, number> = { default: 0, workspace: 1, project: 1, config: 2, env: 3, explicit: 4 };
const isExplicit = (s: PluginSource) => RANK[s] >= 2;

/** The DI container with every loaded plugin, and what was found. */
export class Registry implements PluginCatalog {
  constructor(
    readonly container: Container,
    readonly plugins: PluginInfo[],
    /** Notes for the user (a plugin used instead of another of the same name). */
    readonly notes: string[] = [],
    /** id -> why it is unusable (registered by two plugins equally explicit). */
    private readonly conflicts: Map<string, string> = new Map(),
  ) {}

  backbones(): Backbone[] {
    return this.container.isBound(BackboneToken) ? this.container.getAll<Backbone>(BackboneToken) : [];
  }

  backbone(id: string): Backbone {
    const all = this.backbones();
    const b = all.find((x) => x.id === id);
    if (!b) throw this.conflict('backbones', id) ?? unknownBackbone(id, all.map((x) => x.id).sort());
    return b;
  }

  tasks(): Task[] {
    return this.container.isBound(TaskToken) ? this.container.getAll<Task>(TaskToken) : [];
  }

  task(id: string): Task {
    const all = this.tasks();
    const t = all.find((x) => x.id === id);
    if (!t)
      throw (
        this.conflict('tasks', id) ??
        new DplError(
          'E_UNKNOWN_TASK',
          `unknown task '${id}'`,
          `use one of: ${
            all
              .map((x) => x.id)
              .sort()
              .join(', ') || '(none installed)'
          }`,
        )
      );
    return t;
  }

  /** CLI commands contributed by plugins. */
  commands(): CliCommand[] {
    return this.container.isBound(CliCommandToken) ? this.container.getAll<CliCommand>(CliCommandToken) : [];
  }

  /** Plugins that were refused or lost part of what they register, with why. */
  failures(): PluginInfo[] {
    return this.plugins.filter((p) => p.error || p.warnings.length);
  }

  private conflict(kind: ContributionKind, id: string): DplError | undefined {
    const why = this.conflicts.get(`${kind}:${id}`);
    return why === undefined ? undefined : new DplError('E_PLUGIN', why, 'uninstall one of them, or name the one to use with --plugin');
  }
}

function isContainerModule(m: unknown): m is ContainerModule {
  return typeof m === 'object' && m !== null && typeof (m as { load?: unknown }).load === 'function';
}

/** Validates the manifest, requires the module (host modules shared) and reads what it registers, in a container of its own. */
async function loadPlugin(f: FoundPlugin, info: PluginInfo, hostDirs: string[]): Promise<Contributions> {
  const manifest = checkManifest(f.manifest);
  info.kind = manifest.kind;
  info.apiVersion = manifest.apiVersion;
  const file = path.resolve(f.dir, manifest.module);
  if (!file.startsWith(f.dir + path.sep)) throw new Error(`module ${manifest.module} is outside the package folder`);
  if (!fs.existsSync(file)) throw new Error(`module ${manifest.module} does not exist (${file}); build the package first`);
  shareHostModules(f.dir, hostDirs);
  const exported = require(file) as { default?: unknown };
  const mod = exported.default ?? exported;
  if (!isContainerModule(mod)) throw new Error(`module ${manifest.module} does not default-export an inversify ContainerModule`);
  const own = new Container();
  await own.load(mod);
  const c = contributionsOf(own);
  checkContributions(manifest.kind, c);
  c.backbones = c.backbones.filter((b) => {
    try {
      checkGraph(b);
      return true;
    } catch (e) {
      info.warnings.push(`backbone '${b.id}' not loaded: its graph is invalid: ${(e as Error).message.split('\n')[0]}`);
      return false;
    }
  });
  return c;
}

const describePlugin = (p: { name: string; dir: string }) => `'${p.name}' (${p.dir || 'not found'})`;

/** Finds, validates and loads plugins. A broken plugin is recorded with its error; the others load. */
export async function createRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const cwd = opts.cwd ?? process.cwd();
  const discover = opts.discover !== false;
  const hostDirs = opts.defaultsFrom ? [opts.defaultsFrom] : [];
  const candidates: (FoundPlugin | MissingPlugin)[] = [];
  if (discover) {
    if (opts.defaultsFrom) candidates.push(...defaultPlugins(opts.defaultsFrom));
    candidates.push(...projectPlugins(cwd));
    for (const { spec, base } of configuredPlugins(cwd)) candidates.push(locatePlugin(spec, base, 'config', hostDirs));
    const env = opts.envPlugins ?? (process.env.DPL_PLUGINS ?? '').split(path.delimiter);
    for (const spec of env.filter(Boolean)) candidates.push(locatePlugin(spec, cwd, 'env', hostDirs));
  }
  for (const spec of opts.plugins ?? []) candidates.push(locatePlugin(spec, cwd, 'explicit', hostDirs));

  // one package per name: the same folder found twice is one plugin (its most explicit source);
  // of two folders with the same name, the more explicit place wins (the earlier on a tie), with a note
  const notes: string[] = [];
  const chosen = new Map<string, FoundPlugin>();
  const infos: PluginInfo[] = [];
  const newInfo = (c: FoundPlugin | MissingPlugin): PluginInfo => ({
    name: c.name,
    version: 'version' in c ? c.version : '',
    dir: 'dir' in c ? c.dir : '',
    source: c.source,
    registered: { backbones: [], tasks: [], commands: [] },
    warnings: [],
  });
  for (const c of candidates) {
    if ('error' in c) {
      infos.push({ ...newInfo(c), error: `plugin '${c.name}' (${c.source}): ${c.error}` });
      continue;
    }
    const prev = chosen.get(c.name);
    if (!prev || (prev.dir === c.dir && RANK[c.source] > RANK[prev.source])) chosen.set(c.name, prev ? { ...prev, source: c.source } : c);
    else if (prev.dir !== c.dir) {
      const [win, lose] = RANK[c.source] > RANK[prev.source] ? [c, prev] : [prev, c];
      chosen.set(c.name, win);
      const skipped = `the ${win.source} plugin ${win.name} in ${win.dir} is used instead`;
      infos.push({ ...newInfo(lose), skipped });
      notes.push(`plugin ${lose.name} in ${lose.dir} (${lose.source}) is not loaded: ${skipped}`);
    }
  }

  const loaded: { info: PluginInfo; c: Contributions; explicit: boolean }[] = [];
  for (const f of chosen.values()) {
    const info = newInfo(f);
    infos.push(info);
    try {
      loaded.push({ info, c: await loadPlugin(f, info, hostDirs), explicit: isExplicit(f.source) });
    } catch (e) {
      const err = e as Error;
      info.error = `plugin ${describePlugin(f)}: ${err?.message ?? String(e)}`;
      if (process.env.DPL_DEBUG === '1' && err?.stack) info.stack = err.stack;
    }
  }
  for (const [i, m] of (opts.modules ?? []).entries()) {
    const own = new Container();
    await own.load(m);
    // not listed among the plugins; their ids still take part in the duplicate checks
    const info = newInfo({ name: `module #${i + 1}`, version: '', dir: '', source: 'explicit', manifest: null });
    loaded.push({ info, c: contributionsOf(own), explicit: true });
  }

  const container = new Container();
  const conflicts = new Map<string, string>();
  for (const kind of KINDS) {
    const byId = new Map<string, typeof loaded>();
    for (const l of loaded) for (const x of l.c[kind]) byId.set(idOf(kind, x), [...(byId.get(idOf(kind, x)) ?? []), l]);
    for (const [id, owners] of byId) {
      const explicit = owners.filter((o) => o.explicit);
      const winners = explicit.length ? explicit : owners;
      const what = `${singular[kind]} '${id}'`;
      if (winners.length > 1) {
        // equally explicit: neither is right, so the id is bound to none and using it says why
        const why = `${what} is registered by ${winners.map((w) => `plugin ${describePlugin(w.info)}`).join(' and by ')}`;
        conflicts.set(`${kind}:${id}`, why);
        for (const w of winners) w.info.warnings.push(`${why}: it is not loaded from either`);
      }
      for (const o of owners.filter((x) => !winners.includes(x)))
        o.info.warnings.push(
          `${what} is not loaded from it: the ${explicit[0].info.source} plugin ${describePlugin(explicit[0].info)} provides it`,
        );
      if (winners.length !== 1) continue;
      const x = winners[0].c[kind].find((v) => idOf(kind, v) === id);
      container.bind(TOKENS[kind]).toConstantValue(x);
      winners[0].info.registered[kind].push(id);
    }
  }
  return new Registry(container, infos, notes, conflicts);
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

/**
 * The ContainerModule of a plugin that contributes several things, e.g. a task plugin with CLI
 * commands: `pluginModule({ tasks: [myTask], commands: [myCommand] })`.
 */
export function pluginModule(parts: { backbones?: Backbone[]; tasks?: Task[]; commands?: CliCommand[] }): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const b of parts.backbones ?? []) bind<Backbone>(BackboneToken).toConstantValue(b);
    for (const t of parts.tasks ?? []) bind<Task>(TaskToken).toConstantValue(t);
    // the command's generic arguments differ per command; the host calls them untyped
    for (const c of parts.commands ?? []) bind<CliCommand>(CliCommandToken).toConstantValue(c as CliCommand);
  });
}
