import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PluginInfo, PluginManifest } from '../contracts/plugin';

export interface FoundPlugin {
  name: string;
  version: string;
  dir: string;
  source: PluginInfo['source'];
  /** The raw `dpl` field (validated at load time, so a bad one is reported, not skipped). */
  manifest: unknown;
}

interface PackageJson {
  name?: string;
  version?: string;
  workspaces?: string[] | { packages?: string[] };
  dpl?: PluginManifest;
}

function readPackage(dir: string): PackageJson | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return null;
  }
}

function toFound(dir: string, source: FoundPlugin['source']): FoundPlugin | null {
  const pkg = readPackage(dir);
  if (!pkg || pkg.dpl === undefined) return null;
  return { name: pkg.name ?? path.basename(dir), version: pkg.version ?? '0.0.0', dir: fs.realpathSync(dir), source, manifest: pkg.dpl };
}

const subdirs = (dir: string): string[] => {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
};

/** Workspace package folders of the npm workspace root at or above `cwd` ('dir' and 'dir/*' patterns). */
function workspaceDirs(cwd: string): string[] {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const pkg = readPackage(dir);
    const ws = pkg?.workspaces;
    const patterns = Array.isArray(ws) ? ws : ws?.packages;
    if (patterns) {
      return patterns.flatMap((p) => (p.endsWith('/*') ? subdirs(path.join(dir, p.slice(0, -2))) : [path.join(dir, p)]));
    }
    if (path.dirname(dir) === dir) return [];
  }
}

/** Packages in every node_modules folder from `cwd` up to the filesystem root (scoped ones too). */
function nodeModulesDirs(cwd: string): string[] {
  const out: string[] = [];
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const nm = path.join(dir, 'node_modules');
    for (const d of subdirs(nm)) {
      if (path.basename(d).startsWith('@')) out.push(...subdirs(d));
      else if (!path.basename(d).startsWith('.')) out.push(d);
    }
    if (path.dirname(dir) === dir) return out;
  }
}

/** Every package with a `dpl` manifest in the workspace and the node_modules reachable from `cwd`. */
export function discoverPlugins(cwd: string): FoundPlugin[] {
  const seen = new Set<string>();
  const found: FoundPlugin[] = [];
  const visit = (dir: string, source: FoundPlugin['source']) => {
    const f = toFound(dir, source);
    if (f && !seen.has(f.dir)) {
      seen.add(f.dir);
      found.push(f);
    }
  };
  for (const d of workspaceDirs(cwd)) visit(d, 'workspace');
  for (const d of nodeModulesDirs(cwd)) visit(d, 'node_modules');
  return found;
}

/** A plugin named explicitly: a path to its folder, or a package name resolved from `cwd`. */
export function locatePlugin(spec: string, cwd: string, source: 'explicit' | 'config'): FoundPlugin | { error: string; name: string } {
  const asPath = path.resolve(cwd, spec);
  let dir: string | null = null;
  if (fs.existsSync(path.join(asPath, 'package.json'))) dir = asPath;
  else {
    try {
      dir = path.dirname(require.resolve(`${spec}/package.json`, { paths: [cwd] }));
    } catch {
      return { name: spec, error: `not found as a folder or as an installed package (from ${cwd})` };
    }
  }
  const f = toFound(dir, source);
  return f ?? { name: spec, error: `package at ${dir} has no "dpl" field in its package.json` };
}
