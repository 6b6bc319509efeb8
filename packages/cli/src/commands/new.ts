/**
 * `dpl new backbone|task <id>`: scaffolds a plugin package (manifest, peer dependencies, sources,
 * tests, README) from the templates shipped in this package's templates/ folder, outside any
 * repository. The result builds with `npm install && npm run build` once @dpl/core is resolvable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { PLUGIN_API_VERSION } from '@dpl/core';
import type { CliContext } from '../context';
import { usageError } from '../options';

export type PluginTemplate = 'backbone' | 'task';

/** templates/ beside dist/ (and src/, when run from source). */
const TEMPLATES_DIR = path.resolve(__dirname, '..', '..', 'templates');

/** Lowercase letters, digits, '_' and '-', starting with a letter: a backbone or task id, an npm name part and a file name. */
const ID = /^[a-z][a-z0-9_-]{0,62}$/;

const version = (pkg: string): string => (require(`${pkg}/package.json`) as { version: string }).version;

/** Placeholder values for the templates (`{{name}}`). */
function templateVars(kind: PluginTemplate, id: string): Record<string, string> {
  const ident = id.replace(/[-_]+([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/[-_]/g, '');
  return {
    id,
    ident,
    Ident: ident[0].toUpperCase() + ident.slice(1),
    packageName: `dpl-${kind}-${id}`,
    apiVersion: String(PLUGIN_API_VERSION),
    coreRange: `^${version('@dpl/core')}`,
    tfjsRange: `^${version('@tensorflow/tfjs-core')}`,
    typescriptRange: '^5.9.3',
  };
}

/** Template files (relative paths) of a kind: the common ones and the kind's own. */
function templateFiles(kind: PluginTemplate): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  const walk = (root: string, rel = '') => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(root, r);
      else if (e.name.endsWith('.tmpl')) {
        const to = r.slice(0, -'.tmpl'.length);
        // npm renames a packed .gitignore, so the template is stored without the dot
        out.push({ from: path.join(root, r), to: to === 'gitignore' ? '.gitignore' : to });
      }
    }
  };
  walk(path.join(TEMPLATES_DIR, 'common'));
  walk(path.join(TEMPLATES_DIR, kind));
  return out.sort((a, b) => a.to.localeCompare(b.to));
}

/** Writes the scaffold into `dir` (created; must be absent or empty) and returns the files written. */
export function scaffold(kind: PluginTemplate, id: string, dir: string): string[] {
  const vars = templateVars(kind, id);
  const files = templateFiles(kind);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) {
    const text = fs.readFileSync(f.from, 'utf8').replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);
    const target = path.join(dir, f.to);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text, { flag: 'wx' });
  }
  return files.map((f) => f.to);
}

/** Usage errors before anything is written: a bad id, an id already registered, a non-empty folder. */
async function check(ctx: CliContext, kind: PluginTemplate, id: string, dir: string): Promise<void> {
  if (!ID.test(id))
    throw usageError(
      `${kind} id '${id}' is not valid`,
      "use lowercase letters, digits, '_' or '-', starting with a letter (at most 63), e.g. my_net",
    );
  const reg = await ctx.registry();
  const ids = kind === 'backbone' ? reg.backbones().map((b) => b.id) : reg.tasks().map((t) => t.id);
  if (ids.includes(id)) {
    const by = reg.plugins.find((p) => (kind === 'backbone' ? p.registered.backbones : p.registered.tasks).includes(id));
    throw usageError(
      `a ${kind} '${id}' exists already${by ? ` (from ${by.name})` : ''}`,
      `choose another id (dpl list ${kind}s shows the taken ones)`,
    );
  }
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw usageError(`--dir ${dir} is a file`, 'name a new or empty folder');
    if (fs.readdirSync(dir).length) throw usageError(`--dir ${dir} is not empty`, 'name a new or empty folder, or remove this one');
  }
}

export const newCommand = (ctx: CliContext): CommandModule<object, { kind: PluginTemplate; id: string; dir?: string }> => ({
  command: 'new <kind> <id>',
  describe: 'scaffold a plugin package: a backbone (a small graph, contract and parity tests) or a task (quick and paper presets, a test)',
  builder: (y) =>
    y
      .positional('kind', { choices: ['backbone', 'task'] as const, demandOption: true })
      .positional('id', { type: 'string', demandOption: true, describe: 'the id it registers, e.g. my_net' })
      .option('dir', { type: 'string', requiresArg: true, describe: 'the folder to create (default ./dpl-<kind>-<id>)' }) as never,
  handler: async ({ kind, id, dir }) => {
    const target = path.resolve(ctx.io.cwd, dir ?? `dpl-${kind}-${id}`);
    await check(ctx, kind, id, target);
    const files = scaffold(kind, id, target);
    const vars = templateVars(kind, id);
    if (ctx.args.json) return ctx.json({ kind, id, package: vars.packageName, dir: target, files });
    const rel = path.relative(ctx.io.cwd, target) || '.';
    ctx.io.out(
      [
        `created ${kind} plugin ${vars.packageName} in ${target}:`,
        ...files.map((f) => `  ${f}`),
        'next:',
        `  cd ${rel}`,
        `  npm install        # @dpl/core ${vars.coreRange} must be resolvable: from the registry, or add a tarball/folder with npm install --save-dev <path>`,
        `  npm run build && npm test`,
        kind === 'backbone'
          ? `  dpl --plugin . describe ${id}`
          : `  dpl --plugin . run --task ${id} --backbone squeezenet1_1 --weights random --preset quick --out r.json`,
      ].join('\n'),
    );
  },
});
