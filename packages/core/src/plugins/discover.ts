/**
 * Where plugins come from, and nowhere else (docs/PLUGINS.md), in this order:
 *   1. default   the host application's own plugins: the dependencies declared in its package.json
 *   2. workspace / project   the current project (nearest package.json at or above the working
 *                folder): its workspace packages, itself, and the dependencies they declare
 *   3. config    `plugins` in dpl.config.json (working folder up to the project root) or in the
 *                project package.json's `dpl` field
 *   4. env / explicit   DPL_PLUGINS, then --plugin
 * A package nobody declared is never loaded, wherever it is installed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PluginSource } from '../contracts/plugin';
import { configError } from '../errors';
import { findPackageDir } from './host-modules';
import { declaresPlugin } from './manifest';

/** A plugin package found by discovery: name, version, folder, where it was found, its raw manifest. */
export interface FoundPlugin {
  name: string;
  version: string;
  /** Real path of the package folder. */
  dir: string;
  source: PluginSource;
  /** The raw `dpl` field (validated at load time, so a bad one is reported, not skipped). */
  manifest: unknown;
}

/** A plugin that was named but could not be found. */
export interface MissingPlugin {
  name: string;
  source: PluginSource;
  error: string;
}

interface PackageJson {
  name?: string;
  version?: string;
  workspaces?: string[] | { packages?: string[] };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  dpl?: unknown;
}

function readPackage(dir: string): PackageJson | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return null;
  }
}

const real = (p: string) => {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};

function toFound(dir: string, source: PluginSource): FoundPlugin | null {
  const pkg = readPackage(dir);
  if (!pkg || !declaresPlugin(pkg.dpl)) return null;
  return { name: pkg.name ?? path.basename(dir), version: pkg.version ?? '0.0.0', dir: real(dir), source, manifest: pkg.dpl };
}

const declared = (pkg: PackageJson): string[] => [
  ...new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
    ...Object.keys(pkg.devDependencies ?? {}),
  ]),
];

/** The plugins among the dependencies `dir`'s package.json declares, each resolved from `dir`. */
function declaredPlugins(dir: string, source: PluginSource): FoundPlugin[] {
  const pkg = readPackage(dir);
  if (!pkg) return [];
  return declared(pkg).flatMap((name) => {
    const d = findPackageDir(name, dir);
    const f = d && toFound(d, source);
    return f ? [f] : [];
  });
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

/** Package folders a `workspaces` field names ('dir' and 'dir/*' patterns). */
function workspaceMembers(root: string, pkg: PackageJson): string[] {
  const ws = pkg.workspaces;
  const patterns = Array.isArray(ws) ? ws : (ws?.packages ?? []);
  return patterns
    .flatMap((p) => (p.endsWith('/*') ? subdirs(path.join(root, p.slice(0, -2))) : [path.join(root, p)]))
    .filter((d) => fs.existsSync(path.join(d, 'package.json')));
}

/** The nearest folder at or above `cwd` with a package.json: the current project. */
export function projectDir(cwd: string): string | null {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

/** The workspace root the project belongs to (itself, or a parent whose `workspaces` include it), with its members. */
function workspaceOf(project: string): { root: string; members: string[] } | null {
  for (let dir = project; ; dir = path.dirname(dir)) {
    const pkg = readPackage(dir);
    if (pkg?.workspaces) {
      const members = workspaceMembers(dir, pkg);
      if (dir === project || members.some((m) => real(m) === real(project))) return { root: dir, members };
      return null;
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** 1. The host application's default plugins: the dependencies its package.json (in `hostDir`) declares. */
export function defaultPlugins(hostDir: string): FoundPlugin[] {
  return declaredPlugins(hostDir, 'default');
}

/** 2. The current project's plugins: its workspace packages and itself when they are plugins, and what they declare. */
export function projectPlugins(cwd: string): FoundPlugin[] {
  const project = projectDir(cwd);
  if (!project) return [];
  const ws = workspaceOf(project);
  const own = ws ? [ws.root, ...ws.members] : [project];
  const found: FoundPlugin[] = [];
  for (const d of own) {
    const f = toFound(d, d === ws?.root || d === project ? 'project' : 'workspace');
    if (f) found.push(f);
  }
  for (const d of own) found.push(...declaredPlugins(d, 'project'));
  return found;
}

/** 3. The plugins a dpl.config.json (working folder up to the project root) and the project's `dpl.plugins` list, with the folder each is relative to. */
export function configuredPlugins(cwd: string): { spec: string; base: string }[] {
  const project = projectDir(cwd);
  const out: { spec: string; base: string }[] = [];
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'dpl.config.json');
    if (fs.existsSync(file)) {
      out.push(...readConfigFile(file).map((spec) => ({ spec, base: dir })));
      break;
    }
    if (!project || dir === project || path.dirname(dir) === dir) break;
  }
  const pkg = project ? readPackage(project) : null;
  const list = (pkg?.dpl as { plugins?: unknown } | undefined)?.plugins;
  if (project && list !== undefined) {
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string'))
      throw configError(
        path.join(project, 'package.json'),
        '"dpl.plugins" must be an array of package names or paths',
        'e.g. "dpl": { "plugins": ["./my-backbone"] }',
      );
    out.push(...(list as string[]).map((spec) => ({ spec, base: project })));
  }
  return out;
}

function readConfigFile(file: string): string[] {
  let cfg: unknown;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw configError(file, `is not valid JSON (${(e as Error).message})`, 'fix the syntax or remove the file');
  }
  const plugins = (cfg as { plugins?: unknown } | null)?.plugins;
  if (plugins === undefined) return [];
  if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== 'string')) {
    throw configError(file, '"plugins" must be an array of package names or paths', 'e.g. { "plugins": ["./my-backbone"] }');
  }
  return plugins as string[];
}

const looksLikePath = (spec: string) => path.isAbsolute(spec) || spec.startsWith('.') || spec.startsWith('~') || spec.includes('\\');

/**
 * A plugin named explicitly: a folder (a path, or a name with a folder of that name beside
 * `base`), else an installed package resolved from `base`, then from `hostDirs`.
 */
export function locatePlugin(spec: string, base: string, source: PluginSource, hostDirs: string[] = []): FoundPlugin | MissingPlugin {
  const asPath = path.resolve(base, spec.startsWith('~/') ? spec.replace('~', process.env.HOME ?? '~') : spec);
  let dir: string | null = null;
  if (fs.existsSync(path.join(asPath, 'package.json'))) dir = asPath;
  else if (looksLikePath(spec)) return { name: spec, source, error: `no package.json in ${asPath}: name a plugin package's folder` };
  else dir = [base, ...hostDirs].map((d) => findPackageDir(spec, d)).find((d) => d) ?? null;
  if (!dir) return { name: spec, source, error: `not found: no folder ${asPath} and no installed package '${spec}' (looked from ${base})` };
  const f = toFound(dir, source);
  return f ?? { name: readPackage(dir)?.name ?? spec, source, error: `${dir} has no "dpl" plugin manifest in its package.json` };
}
