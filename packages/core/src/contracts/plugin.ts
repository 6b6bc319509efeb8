import type { Backbone } from './backbone';
import type { Task } from './task';

/**
 * The plugin API version this host implements, and the oldest it still accepts. A plugin declares
 * the version it was written for (`"apiVersion"` in its manifest); the host loads it when
 * MIN_PLUGIN_API_VERSION <= apiVersion <= PLUGIN_API_VERSION. PLUGIN_API_VERSION goes up only
 * when a contract changes in a way an existing plugin could notice (a member removed, renamed or
 * given another meaning); additions do not change it. See docs/PLUGINS.md.
 */
export const PLUGIN_API_VERSION = 1;
/** The oldest plugin API version this host still loads (see PLUGIN_API_VERSION). */
export const MIN_PLUGIN_API_VERSION = 1;

/** What a plugin mainly provides; any kind may also contribute CLI commands. */
export type PluginKind = 'backbone' | 'task' | 'command';

/** The `"dpl"` field of a plugin package's package.json (schema in packages/core/src/plugins/manifest.ts). */
export interface PluginManifest {
  /** The plugin API version the plugin was written for. */
  apiVersion: number;
  kind: PluginKind;
  /** Path of the module (relative to the package root) whose default export is an inversify ContainerModule. */
  module: string;
}

/** Where a plugin was found, in discovery order (docs/PLUGINS.md). */
export type PluginSource = 'default' | 'workspace' | 'project' | 'config' | 'env' | 'explicit';

/** One plugin as the registry found it: where from, what it registered, and any error or warning. */
export interface PluginInfo {
  name: string;
  version: string;
  /** The declared kind (absent when the manifest is invalid). */
  kind?: PluginKind;
  apiVersion?: number;
  /** Absolute path of the package directory ('' when it was not found). */
  dir: string;
  /** How it was found. */
  source: PluginSource;
  /** What it registered and the host kept (ids of backbones and tasks, names of commands). */
  registered: { backbones: string[]; tasks: string[]; commands: string[] };
  /** Set when it was refused: nothing of it is loaded. The others still load. */
  error?: string;
  /** The error's stack, kept only under DPL_DEBUG=1. */
  stack?: string;
  /** Loaded, but something of it was dropped or overridden (a broken graph, an id another plugin provides). */
  warnings: string[];
  /** Not loaded because a plugin of the same name from a more explicit place is used (says which). */
  skipped?: string;
}

/**
 * What the host's plugin registry answers about the loaded plugins (the `Registry` class in
 * packages/core/src/plugins/registry.ts implements it): what a plugin command gets from
 * `CliHost.registry()`.
 */
export interface PluginCatalog {
  /** Every plugin found, loaded or refused, with what it registered. */
  readonly plugins: PluginInfo[];
  backbones(): Backbone[];
  /** The backbone with this id; throws a DplError listing the installed ones. */
  backbone(id: string): Backbone;
  tasks(): Task[];
  /** The task with this id; throws a DplError listing the installed ones. */
  task(id: string): Task;
}
