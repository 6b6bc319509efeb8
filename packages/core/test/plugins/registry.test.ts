import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRegistry } from '../../src/plugins/registry';
import { PLUGIN_API_VERSION } from '../../src/contracts/plugin';
import { backboneJs, backbonesModule, taskJs, writePlugin } from './make-plugin';

const ROOT = path.resolve(__dirname, '../../../..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const TOY = path.join(FIXTURES, 'toy-backbone');

let tmp: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-reg-')));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const writeJson = (file: string, v: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(v));
};
/** A project folder whose package.json declares `deps` (name -> folder, linked into its node_modules). */
function project(dir: string, deps: Record<string, string>, extra: Record<string, unknown> = {}): string {
  writeJson(path.join(dir, 'package.json'), {
    name: 'some-project',
    version: '1.0.0',
    dependencies: Object.fromEntries(Object.keys(deps).map((d) => [d, '*'])),
    ...extra,
  });
  for (const [name, target] of Object.entries(deps)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), { recursive: true });
    fs.symlinkSync(target, path.join(dir, 'node_modules', name));
  }
  return dir;
}

describe('plugin discovery', () => {
  it('finds the workspace plugins from the repository root', async () => {
    const reg = await createRegistry({ cwd: ROOT, envPlugins: [] });
    const vgg = reg.plugins.find((p) => p.name === '@dpl/backbone-vgg');
    expect(vgg).toMatchObject({ kind: 'backbone', source: 'workspace', apiVersion: 1 });
    expect(vgg?.error).toBeUndefined();
    expect(vgg?.registered.backbones).toContain('vgg16');
    expect(reg.backbone('vgg16').family).toBe('vgg');
    // the fixture plugins are not workspace packages: not found unless named
    expect(reg.backbones().map((b) => b.id)).not.toContain('toynet');
  });

  it("finds the host's default plugins (its declared dependencies) from a folder outside any project", async () => {
    const host = project(path.join(tmp, 'host'), { 'dpl-backbone-toy': TOY });
    const reg = await createRegistry({ cwd: path.join(tmp, 'elsewhere'), defaultsFrom: host, envPlugins: [] });
    expect(reg.plugins).toEqual([expect.objectContaining({ name: 'dpl-backbone-toy', source: 'default', dir: TOY })]);
    expect(reg.backbone('toynet').id).toBe('toynet');
  });

  it('never loads a package from an undeclared node_modules above the project (its code would leave a mark)', async () => {
    const mark = path.join(tmp, 'MARK');
    const pkg = writePlugin(path.join(tmp, 'node_modules', 'dpl-backbone-mark'), {
      name: 'dpl-backbone-mark',
      code: `require('node:fs').writeFileSync(${JSON.stringify(mark)}, 'loaded');\n${backbonesModule('marked')}`,
    });
    project(path.join(tmp, 'project'), {});
    fs.mkdirSync(path.join(tmp, 'project', 'sub'));
    fs.mkdirSync(path.join(tmp, 'loose'));
    for (const cwd of [path.join(tmp, 'project', 'sub'), path.join(tmp, 'loose'), tmp]) {
      const reg = await createRegistry({ cwd, envPlugins: [] });
      expect(reg.plugins.map((p) => p.name)).not.toContain('dpl-backbone-mark');
    }
    expect(fs.existsSync(mark)).toBe(false);
    // declared, the same package is loaded (the control: its mark does appear)
    writeJson(path.join(tmp, 'project', 'package.json'), { name: 'p', dependencies: { 'dpl-backbone-mark': '*' } });
    const reg = await createRegistry({ cwd: path.join(tmp, 'project', 'sub'), envPlugins: [] });
    expect(reg.plugins).toEqual([expect.objectContaining({ name: 'dpl-backbone-mark', source: 'project', dir: pkg })]);
    expect(fs.existsSync(mark)).toBe(true);
  });

  it('loads in order defaults, project, config, DPL_PLUGINS, --plugin', async () => {
    const mk = (n: string) => writePlugin(path.join(tmp, 'pkgs', n), { name: `dpl-backbone-${n}`, code: backbonesModule(n) });
    const host = project(path.join(tmp, 'host'), { 'dpl-backbone-d': mk('d') });
    const proj = project(path.join(tmp, 'proj'), { 'dpl-backbone-p': mk('p') }, { dpl: { plugins: [mk('c2')] } });
    writeJson(path.join(proj, 'dpl.config.json'), { plugins: [path.relative(proj, mk('c1'))] });
    fs.mkdirSync(path.join(proj, 'src'));
    const reg = await createRegistry({ cwd: path.join(proj, 'src'), defaultsFrom: host, envPlugins: [mk('e')], plugins: [mk('x')] });
    expect(reg.plugins.map((p) => [p.name, p.source])).toEqual([
      ['dpl-backbone-d', 'default'],
      ['dpl-backbone-p', 'project'],
      ['dpl-backbone-c1', 'config'],
      ['dpl-backbone-c2', 'config'],
      ['dpl-backbone-e', 'env'],
      ['dpl-backbone-x', 'explicit'],
    ]);
    expect(reg.backbones().map((b) => b.id)).toEqual(['d', 'p', 'c1', 'c2', 'e', 'x']);
  });

  it('reads DPL_PLUGINS (path-delimiter separated) when not given', async () => {
    const a = writePlugin(path.join(tmp, 'a'), { name: 'dpl-backbone-a', code: backbonesModule('a') });
    const old = process.env.DPL_PLUGINS;
    process.env.DPL_PLUGINS = [a, TOY].join(path.delimiter);
    try {
      const reg = await createRegistry({ cwd: tmp });
      expect(reg.plugins.map((p) => [p.name, p.source])).toEqual([
        ['dpl-backbone-a', 'env'],
        ['dpl-backbone-toy', 'env'],
      ]);
    } finally {
      if (old === undefined) delete process.env.DPL_PLUGINS;
      else process.env.DPL_PLUGINS = old;
    }
  });

  it('an explicit plugin wins over an installed one of the same name, with a note', async () => {
    const installed = writePlugin(path.join(tmp, 'installed'), { name: 'dpl-backbone-same', code: backbonesModule('from_installed') });
    const mine = writePlugin(path.join(tmp, 'mine'), { name: 'dpl-backbone-same', code: backbonesModule('from_mine') });
    const proj = project(path.join(tmp, 'proj'), { 'dpl-backbone-same': installed });
    const reg = await createRegistry({ cwd: proj, envPlugins: [], plugins: ['../mine'] });
    expect(reg.backbones().map((b) => b.id)).toEqual(['from_mine']);
    expect(reg.plugins.find((p) => p.dir === mine)?.source).toBe('explicit');
    expect(reg.plugins.find((p) => p.dir === installed)?.skipped).toMatch(/explicit plugin dpl-backbone-same in .*mine is used instead/);
    expect(reg.notes.join('\n')).toMatch(/dpl-backbone-same in .*installed \(project\) is not loaded/);
  });

  it('reads extra plugins from dpl.config.json and rejects a malformed one', async () => {
    writeJson(path.join(tmp, 'dpl.config.json'), { plugins: [TOY] });
    const reg = await createRegistry({ cwd: tmp, envPlugins: [] });
    expect(reg.plugins.find((p) => p.name === 'dpl-backbone-toy')?.source).toBe('config');
    fs.writeFileSync(path.join(tmp, 'dpl.config.json'), '{ "plugins": [ ');
    await expect(createRegistry({ cwd: tmp, envPlugins: [] })).rejects.toThrow(/dpl\.config\.json: is not valid JSON/);
    fs.writeFileSync(path.join(tmp, 'dpl.config.json'), '{ "plugins": "toy" }');
    await expect(createRegistry({ cwd: tmp, envPlugins: [] })).rejects.toThrow(/"plugins" must be an array/);
  });
});

describe('plugin loading', () => {
  const load = (...dirs: string[]) => createRegistry({ cwd: tmp, discover: false, plugins: dirs });

  it('a broken plugin is reported with its name, path and cause; the others still load', async () => {
    const reg = await createRegistry({
      cwd: ROOT,
      envPlugins: [],
      plugins: [path.join(FIXTURES, 'broken-plugin'), path.join(FIXTURES, 'bad-manifest'), TOY, 'no-such-dpl-plugin'],
    });
    const byName = new Map(reg.failures().map((f) => [f.name, f.error]));
    expect(byName.get('dpl-backbone-broken')).toMatch(
      /plugin 'dpl-backbone-broken' \(.*test\/fixtures\/broken-plugin\): module \.\/dist\/missing\.js does not exist/,
    );
    expect(byName.get('dpl-plugin-bad-manifest')).toMatch(
      /invalid "dpl" manifest in package.json: lacks "module"; kind must be one of: backbone, task, command \(got "optimizer"\)/,
    );
    expect(byName.get('no-such-dpl-plugin')).toMatch(/not found/);
    expect(reg.backbone('toynet').id).toBe('toynet');
    expect(reg.backbone('vgg16').id).toBe('vgg16');
  });

  it('a module that throws while loading is reported; its stack only under DPL_DEBUG=1', async () => {
    const p = writePlugin(path.join(tmp, 'throws'), { name: 'dpl-backbone-throws', code: "throw new Error('boom at load');" });
    const reg = await load(p, TOY);
    const info = reg.plugins.find((x) => x.name === 'dpl-backbone-throws')!;
    expect(info.error).toBe(`plugin 'dpl-backbone-throws' (${p}): boom at load`);
    expect(info.stack).toBeUndefined();
    expect(reg.backbone('toynet').id).toBe('toynet');
    process.env.DPL_DEBUG = '1';
    try {
      expect((await load(p)).plugins[0].stack).toMatch(/boom at load\n\s+at /);
    } finally {
      delete process.env.DPL_DEBUG;
    }
  });

  it('refuses a plugin whose apiVersion the host does not support, naming both versions', async () => {
    const newer = writePlugin(path.join(tmp, 'newer'), {
      name: 'dpl-backbone-newer',
      apiVersion: PLUGIN_API_VERSION + 1,
      code: backbonesModule('n'),
    });
    const none = writePlugin(path.join(tmp, 'none'), {
      name: 'dpl-backbone-none',
      manifest: { kind: 'backbone', module: './plugin.js' },
      code: backbonesModule('o'),
    });
    const reg = await load(newer, none);
    expect(reg.plugins[0].error).toMatch(
      new RegExp(
        `'dpl-backbone-newer' .*: it needs plugin API version ${PLUGIN_API_VERSION + 1}; this dpl supports plugin API version ${PLUGIN_API_VERSION}`,
      ),
    );
    expect(reg.plugins[1].error).toMatch(/invalid "dpl" manifest in package.json: lacks "apiVersion"/);
    expect(reg.backbones()).toEqual([]);
  });

  it('refuses a module that registers what its kind does not allow', async () => {
    const p = writePlugin(path.join(tmp, 'k'), {
      name: 'dpl-backbone-k',
      kind: 'backbone',
      code: `module.exports = { default: core.taskPlugin([${taskJs('t')}]) };`,
    });
    const q = writePlugin(path.join(tmp, 'q'), { name: 'dpl-task-q', kind: 'task', code: backbonesModule('q') });
    const reg = await load(p, q);
    expect(reg.plugins[0].error).toMatch(/dpl-backbone-k.*declares kind "backbone" but registers tasks \(t\)/);
    expect(reg.plugins[1].error).toMatch(/dpl-task-q.*declares kind "task" but registers backbones \(q\)/);
    expect(reg.tasks()).toEqual([]);
    expect(reg.backbones()).toEqual([]);
  });

  it('a task plugin may also contribute commands', async () => {
    const command = "{ command: 'hello [who]', describe: 'says hello', handler: async () => {} }";
    const code = `module.exports = { default: core.pluginModule({ tasks: [${taskJs('tc')}], commands: [${command}] }) };`;
    const reg = await load(writePlugin(path.join(tmp, 'tc'), { name: 'dpl-task-tc', kind: 'task', code }));
    expect(reg.plugins[0].registered).toEqual({ backbones: [], tasks: ['tc'], commands: ['hello'] });
    expect(reg.commands().map((c) => c.command)).toEqual(['hello [who]']);
  });

  it('an id registered twice inside one plugin refuses it', async () => {
    const p = writePlugin(path.join(tmp, 'twice'), { name: 'dpl-backbone-twice', code: backbonesModule('dup', 'dup') });
    const reg = await load(p);
    expect(reg.plugins[0].error).toMatch(/plugin 'dpl-backbone-twice' .*: registers backbone 'dup' twice/);
    expect(reg.backbones()).toEqual([]);
  });

  it('an id registered by two plugins is bound to neither; the warnings and its use name both packages', async () => {
    const a = writePlugin(path.join(tmp, 'a'), { name: 'dpl-backbone-a', code: backbonesModule('shared', 'only_a') });
    const b = writePlugin(path.join(tmp, 'b'), { name: 'dpl-backbone-b', code: backbonesModule('shared') });
    const reg = await load(a, b);
    expect(reg.backbones().map((x) => x.id)).toEqual(['only_a']);
    const both = /backbone 'shared' is registered by plugin 'dpl-backbone-a' \(.*\/a\) and by plugin 'dpl-backbone-b' \(.*\/b\)/;
    expect(reg.plugins[0].warnings.join()).toMatch(both);
    expect(reg.plugins[1].warnings.join()).toMatch(both);
    expect(() => reg.backbone('shared')).toThrow(both);
    expect(reg.plugins.map((p) => p.registered.backbones)).toEqual([['only_a'], []]);
  });

  it('task ids and command names registered by two plugins are conflicts too, naming both packages', async () => {
    const command = "{ command: 'greet', describe: 'g', handler: async () => {} }";
    const code = (extra: string) =>
      `module.exports = { default: core.pluginModule({ tasks: [${taskJs('same')}, ${taskJs(extra)}], commands: [${command}] }) };`;
    const a = writePlugin(path.join(tmp, 'ta'), { name: 'dpl-task-a', kind: 'task', code: code('only_a') });
    const b = writePlugin(path.join(tmp, 'tb'), { name: 'dpl-task-b', kind: 'task', code: code('only_b') });
    const reg = await load(a, b);
    expect(reg.tasks().map((t) => t.id)).toEqual(['only_a', 'only_b']);
    expect(reg.commands()).toEqual([]);
    expect(() => reg.task('same')).toThrow(
      /task 'same' is registered by plugin 'dpl-task-a' \(.*\/ta\) and by plugin 'dpl-task-b' \(.*\/tb\)/,
    );
    expect(reg.plugins[1].warnings.join('\n')).toMatch(
      /command 'greet' is registered by plugin 'dpl-task-a' .* and by plugin 'dpl-task-b'/,
    );
  });

  it('an explicit plugin overrides an id of an implicit one: a warning names both, the id is listed once', async () => {
    const implicit = writePlugin(path.join(tmp, 'impl'), { name: 'dpl-backbone-impl', code: backbonesModule('vggish', 'other') });
    const explicit = writePlugin(path.join(tmp, 'expl'), { name: 'dpl-backbone-expl', code: backbonesModule('vggish') });
    const proj = project(path.join(tmp, 'proj'), { 'dpl-backbone-impl': implicit });
    const reg = await createRegistry({ cwd: proj, envPlugins: [], plugins: [explicit] });
    expect(reg.backbones().map((b) => b.id)).toEqual(['vggish', 'other']);
    expect(reg.plugins.find((p) => p.name === 'dpl-backbone-impl')?.warnings).toEqual([
      `backbone 'vggish' is not loaded from it: the explicit plugin 'dpl-backbone-expl' (${explicit}) provides it`,
    ]);
    expect(reg.plugins.map((p) => p.registered.backbones)).toEqual([['other'], ['vggish']]);
  });

  it("a backbone whose graph is broken is reported naming the plugin; the plugin's other backbones load", async () => {
    const code = `module.exports = { default: core.backbonePlugin([${backboneJs('bad', { broken: true })}, ${backboneJs('good')}]) };`;
    const p = writePlugin(path.join(tmp, 'g'), { name: 'dpl-backbone-graph', code });
    const reg = await load(p);
    expect(reg.backbones().map((b) => b.id)).toEqual(['good']);
    expect(reg.plugins[0].warnings.join()).toMatch(
      /backbone 'bad' not loaded: its graph is invalid: graph: node \d+ \(concat\) joins tensors of sizes/,
    );
    expect(reg.failures().map((f) => f.name)).toEqual(['dpl-backbone-graph']);
  });

  it('an unknown backbone lists the installed ones', async () => {
    const reg = await createRegistry({ cwd: ROOT, envPlugins: [] });
    expect(() => reg.backbone('vgg17')).toThrow(/unknown backbone 'vgg17'[\s\S]*vgg16/);
  });
});
