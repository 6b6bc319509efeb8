/**
 * One instance of @dpl/core, @dpl/metrics and tfjs per process, whatever a plugin's own
 * node_modules hold. A plugin developed in its own folder installs @dpl/core and tfjs there to
 * compile and test; loaded from that folder, Node would give it those copies: tfjs kernels
 * registered twice, backends missing from the copy, brands and tokens of another instance. So
 * the loader wraps Node's module resolution (as editors hand their API module to extensions):
 * a request for one of SHARED_PACKAGES made from a file inside a loaded plugin's folder
 * (node_modules included) resolves from the host instead. Files outside those folders are not
 * touched. ESM `import` does not go through this hook: plugin modules are CommonJS.
 * See docs/PLUGINS.md.
 */
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';

/** The packages a plugin shares with the host (its peerDependencies). */
export const SHARED_PACKAGES = [
  '@dpl/core',
  '@dpl/metrics',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  // a plugin's default export is an inversify ContainerModule: the host's inversify loads it
  'inversify',
] as const;

type Resolve = (request: string, parent: Module | null | undefined, isMain: boolean, options?: unknown) => string;
interface ModuleInternals {
  _resolveFilename: Resolve;
  _nodeModulePaths(dir: string): string[];
}
const M = Module as unknown as ModuleInternals;

interface HookState {
  pluginDirs: Set<string>;
  /** Package folders of the host (never redirected), first the one of this @dpl/core. */
  hostRoots: string[];
  /** shared package -> a module inside the host to resolve it from (null: the host has none). */
  parents: Map<string, Module | null>;
}

// kept on globalThis so that the hook is installed once per process
const KEY = Symbol.for('dpl.hostModules');
const g = globalThis as { [KEY]?: HookState };

/** This @dpl/core's package folder (dist/plugins or src/plugins -> the package root). */
export const CORE_ROOT = path.resolve(__dirname, '..', '..');

const inside = (file: string, dir: string) => file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

function sharedName(request: string): string | null {
  for (const n of SHARED_PACKAGES) if (request === n || request.startsWith(`${n}/`)) return n;
  return null;
}

/** The folder of package `name` as Node would find it from `from` (node_modules of `from` and its parents). */
export function findPackageDir(name: string, from: string): string | null {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const pkg = path.join(dir, 'node_modules', name);
      if (fs.existsSync(path.join(pkg, 'package.json'))) return pkg;
    }
    if (path.dirname(dir) === dir) return null;
  }
}

function fakeParent(dir: string): Module {
  const m = new Module(path.join(dir, 'package.json'));
  m.filename = m.id;
  m.paths = M._nodeModulePaths(dir);
  return m;
}

function hostParent(s: HookState, name: string): Module | null {
  if (!s.parents.has(name)) {
    // @dpl/core: this very instance (self-reference); the others from the first host root that has them
    const root = name === '@dpl/core' ? CORE_ROOT : s.hostRoots.find((r) => findPackageDir(name, r));
    s.parents.set(name, root ? fakeParent(root) : null);
  }
  return s.parents.get(name)!;
}

/** Inside a loaded plugin's folder, and not inside a host package nested deeper (the deepest folder decides). */
function inPlugin(s: HookState, file: string): boolean {
  const deepest = (dirs: Iterable<string>) => Math.max(-1, ...[...dirs].filter((d) => inside(file, d)).map((d) => d.length));
  return deepest(s.pluginDirs) > deepest(s.hostRoots);
}

function install(): HookState {
  const s: HookState = { pluginDirs: new Set(), hostRoots: [realpath(CORE_ROOT)], parents: new Map() };
  const original = M._resolveFilename;
  M._resolveFilename = function (this: unknown, request, parent, isMain, options) {
    const name = sharedName(request);
    const from = parent?.filename;
    if (name && from && inPlugin(s, from)) {
      if (name === '@dpl/core' && request === name) return original.call(this, CORE_ROOT, null, false);
      const host = hostParent(s, name);
      if (host) {
        try {
          return original.call(this, request, host, isMain, options);
        } catch {
          /* not in the host (a subpath it lacks): the plugin's own */
        }
      }
    }
    return original.call(this, request, parent, isMain, options);
  };
  return s;
}

const realpath = (p: string) => {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};

/**
 * From now on, SHARED_PACKAGES required from inside `pluginDir` resolve from the host: this
 * @dpl/core, then `hostRoots` (the host application's package folders) for the others.
 */
export function shareHostModules(pluginDir: string, hostRoots: string[] = []): void {
  const s = (g[KEY] ??= install());
  for (const r of hostRoots.map(realpath)) {
    if (!s.hostRoots.includes(r)) {
      s.hostRoots.push(r);
      s.parents.clear();
    }
  }
  s.pluginDirs.add(realpath(pluginDir));
}
