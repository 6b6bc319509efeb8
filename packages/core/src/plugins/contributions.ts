import type { Container } from 'inversify';
import type { Backbone } from '../contracts/backbone';
import type { CliCommand } from '../contracts/cli-command';
import type { PluginKind } from '../contracts/plugin';
import type { Task } from '../contracts/task';
import { minInputSize, spatialShapes } from '../graph/shapes';
import { BackboneToken, CliCommandToken, TaskToken } from '../tokens';

/** What one plugin module bound, read from the container it was loaded into alone. */
export interface Contributions {
  backbones: Backbone[];
  tasks: Task[];
  commands: CliCommand[];
}

export const KINDS = ['backbones', 'tasks', 'commands'] as const;
export type ContributionKind = (typeof KINDS)[number];
export const singular = { backbones: 'backbone', tasks: 'task', commands: 'command' } as const;

const all = <T>(c: Container, token: symbol): T[] => (c.isBound(token) ? c.getAll<T>(token) : []);

export const contributionsOf = (c: Container): Contributions => ({
  backbones: all<Backbone>(c, BackboneToken),
  tasks: all<Task>(c, TaskToken),
  commands: all<CliCommand>(c, CliCommandToken),
});

/** The id a contribution is registered under: a backbone's or task's id, a command's name. */
export const idOf = (kind: ContributionKind, x: unknown): string =>
  kind === 'commands' ? String((x as CliCommand).command ?? '').split(/\s+/)[0] : String((x as { id?: unknown }).id);

/**
 * Throws when what a module registered does not fit its declared kind, is not the contract's
 * shape, or registers an id twice. Any kind may add commands; a backbone plugin binds no task and
 * a task plugin no backbone.
 */
export function checkContributions(kind: PluginKind, c: Contributions): void {
  const n = { backbones: c.backbones.length, tasks: c.tasks.length, commands: c.commands.length };
  if (kind === 'backbone' && n.tasks)
    throw new Error(
      `declares kind "backbone" but registers tasks (${c.tasks.map((t) => t.id).join(', ')}): a task belongs in a task plugin`,
    );
  if (kind === 'task' && n.backbones)
    throw new Error(
      `declares kind "task" but registers backbones (${c.backbones.map((b) => b.id).join(', ')}): a backbone belongs in a backbone plugin`,
    );
  if (kind === 'command' && (n.backbones || n.tasks)) throw new Error('declares kind "command" but registers backbones or tasks');
  const own = { backbone: n.backbones, task: n.tasks, command: n.commands }[kind];
  if (!own) throw new Error(`declares kind "${kind}" but its module registers no ${kind}`);
  for (const b of c.backbones)
    if (
      typeof b?.id !== 'string' ||
      !b.id ||
      typeof b.points !== 'function' ||
      typeof b.build !== 'function' ||
      typeof b.graph !== 'function'
    )
      throw new Error(`registers a backbone that is not a Backbone (needs id, graph(), points(), build()): ${String(b?.id ?? b)}`);
  for (const t of c.tasks)
    if (
      typeof t?.id !== 'string' ||
      !t.id ||
      typeof t.resolveConfig !== 'function' ||
      typeof t.run !== 'function' ||
      !Array.isArray(t.presets)
    )
      throw new Error(`registers a task that is not a Task (needs id, presets, resolveConfig(), run()): ${String(t?.id ?? t)}`);
  for (const m of c.commands)
    if (typeof m?.command !== 'string' || !idOf('commands', m) || typeof m.handler !== 'function')
      throw new Error(`registers a command that is not a CliCommand (needs command, describe, handler)`);
  for (const k of KINDS) {
    const ids = c[k].map((x) => idOf(k, x));
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice !== undefined) throw new Error(`registers ${singular[k]} '${twice}' twice`);
  }
}

/**
 * Checks a backbone's graph: it builds, has taps, and shapes infer (a spatial pass, no tensors)
 * at the smallest input its taps allow and at 224 px, the size these networks are made for (at
 * 1 px, branches of different strides can still agree). About 20 ms a backbone, building its
 * graph included (tools/bench/plugins.js); the per-point attributes (points()) stay lazy: they
 * cost several times more.
 */
export function checkGraph(b: Backbone): void {
  const graph = b.graph();
  const taps = graph.taps.map((t) => t.node);
  if (!taps.length) throw new Error('its graph has no extraction points (g.tap)');
  const min = minInputSize(graph, taps);
  for (const size of new Set([min, Math.max(min, 224)])) spatialShapes(graph, size, size, taps);
}
