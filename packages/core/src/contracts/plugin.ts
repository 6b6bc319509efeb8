/** The `"dpl"` field of a plugin package's package.json. */
export interface PluginManifest {
  kind: 'backbone' | 'task';
  /** Path of the module (relative to the package root) whose default export is an inversify ContainerModule. */
  module: string;
}

export interface PluginInfo {
  name: string;
  version: string;
  kind: PluginManifest['kind'];
  /** Absolute path of the package directory. */
  dir: string;
  /** How it was found. */
  source: 'workspace' | 'node_modules' | 'explicit' | 'config';
  /** Set when it failed to load; the others still load. */
  error?: string;
}
