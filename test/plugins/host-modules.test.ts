/**
 * One instance, always: a plugin with its own node_modules copies of @dpl/core, @dpl/metrics and
 * tfjs still gets the host's (packages/core/src/plugins/host-modules.ts). Runs the built CLI and
 * core (dist) in child processes: jest's own module system bypasses Node's resolution.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const CORE = path.join(ROOT, 'packages', 'core');
const DPL = path.join(ROOT, 'packages', 'cli', 'dist', 'main.js');

let tmp: string;
let plugin: string;
const marks = () => (fs.existsSync(path.join(tmp, 'marks')) ? fs.readdirSync(path.join(tmp, 'marks')).sort() : []);

/** A package in `dir` whose loading leaves a mark named `mark`. */
function fakePackage(dir: string, name: string, mark: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '9.9.9', main: 'index.js' }));
  fs.writeFileSync(
    path.join(dir, 'index.js'),
    `require('node:fs').mkdirSync(${JSON.stringify(path.join(tmp, 'marks'))}, { recursive: true });\n` +
      `require('node:fs').writeFileSync(${JSON.stringify(path.join(tmp, 'marks', mark))}, '');\nmodule.exports = { fake: ${JSON.stringify(name)} };\n`,
  );
}

beforeAll(() => {
  if (!fs.existsSync(DPL) || !fs.existsSync(path.join(CORE, 'dist', 'index.js')))
    throw new Error('build first: npx tsc -b tsconfig.build.json');
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-own-core-')));
  plugin = path.join(tmp, 'dpl-backbone-owncore');
  fs.mkdirSync(plugin);
  fs.writeFileSync(
    path.join(plugin, 'package.json'),
    JSON.stringify({
      name: 'dpl-backbone-owncore',
      version: '0.0.1',
      dpl: { apiVersion: 1, kind: 'backbone', module: './plugin.js' },
      peerDependencies: { '@dpl/core': '*', '@tensorflow/tfjs-core': '*' },
    }),
  );
  fs.writeFileSync(
    path.join(plugin, 'plugin.js'),
    `const core = require('@dpl/core');
const tf = require('@tensorflow/tfjs-core');
globalThis.__ownCorePlugin = { core, tf, metrics: require('@dpl/metrics'), helper: require('helper-lib') };
module.exports = { default: core.backbonePlugin([core.defineBackbone({
  id: 'owncore', family: 'tiny',
  metadata: { batchNorm: false, normalization: 'imagenet', inStudy: false, description: 'own core copy' },
  graph: (g) => { g.tap('a', g.relu(g.conv(g.input(3), 'a', { out: 4, k: 3, pad: 1 }))); },
})]) };
`,
  );
  // the plugin's own copies: a real copy of @dpl/core's built package (marked), fakes of the others
  const copy = path.join(plugin, 'node_modules', '@dpl', 'core');
  fs.cpSync(path.join(CORE, 'dist'), path.join(copy, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(CORE, 'package.json'), path.join(copy, 'package.json'));
  const index = path.join(copy, 'dist', 'index.js');
  fs.writeFileSync(
    index,
    `require('node:fs').mkdirSync(${JSON.stringify(path.join(tmp, 'marks'))}, { recursive: true });\n` +
      `require('node:fs').writeFileSync(${JSON.stringify(path.join(tmp, 'marks', 'own-core'))}, '');\n${fs.readFileSync(index, 'utf8')}`,
  );
  fakePackage(path.join(plugin, 'node_modules', '@tensorflow', 'tfjs-core'), '@tensorflow/tfjs-core', 'own-tfjs-core');
  fakePackage(path.join(plugin, 'node_modules', '@dpl', 'metrics'), '@dpl/metrics', 'own-metrics');
  // a dependency of the plugin that itself needs tfjs: it gets the host's too
  fs.mkdirSync(path.join(plugin, 'node_modules', 'helper-lib'));
  fs.writeFileSync(
    path.join(plugin, 'node_modules', 'helper-lib', 'package.json'),
    JSON.stringify({ name: 'helper-lib', main: 'index.js' }),
  );
  fs.writeFileSync(
    path.join(plugin, 'node_modules', 'helper-lib', 'index.js'),
    "module.exports = { tf: require('@tensorflow/tfjs-core') };\n",
  );
  // outside any plugin folder nothing is redirected: this module gets its own copy
  fakePackage(path.join(tmp, 'other', 'node_modules', '@dpl', 'core'), '@dpl/core', 'other-core');
  fs.writeFileSync(path.join(tmp, 'other', 'index.js'), "module.exports = require('@dpl/core');\n");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it("a plugin with its own @dpl/core, @dpl/metrics and tfjs-core copies gets the host's instances", () => {
  const script = `
const core = require(${JSON.stringify(path.join(CORE, 'dist', 'index.js'))});
const tf = require(require.resolve('@tensorflow/tfjs-core', { paths: [${JSON.stringify(CORE)}] }));
const metrics = require(require.resolve('@dpl/metrics', { paths: [${JSON.stringify(CORE)}] }));
core.createRegistry({ cwd: ${JSON.stringify(tmp)}, discover: false, plugins: [${JSON.stringify(plugin)}] }).then((reg) => {
  const p = globalThis.__ownCorePlugin;
  console.log(JSON.stringify({
    ids: reg.backbones().map((b) => b.id),
    errors: reg.plugins.map((x) => x.error || null),
    core: p.core === core, tf: p.tf === tf, metrics: p.metrics === metrics, helperTf: p.helper.tf === tf,
    other: require(${JSON.stringify(path.join(tmp, 'other'))}).fake,
  }));
});`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: tmp, encoding: 'utf8', env: { ...process.env, DPL_PLUGINS: '' } });
  expect(r.stderr).not.toMatch(/already registered/);
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    ids: ['owncore'],
    errors: [null],
    core: true,
    tf: true,
    metrics: true,
    helperTf: true,
    other: '@dpl/core',
  });
  // the plugin's copies never ran; the module outside the plugin folder loaded its own
  expect(marks()).toEqual(['other-core']);
});

it('the CLI runs such a plugin through --plugin with no duplicate-registration output', () => {
  fs.rmSync(path.join(tmp, 'marks'), { recursive: true, force: true });
  const r = spawnSync(process.execPath, [DPL, '--plugin', './dpl-backbone-owncore', 'list', 'backbones', '--json'], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, DPL_PLUGINS: '' },
  });
  expect(r.stderr).not.toMatch(/already registered|warning|error/i);
  expect(r.status).toBe(0);
  expect((JSON.parse(r.stdout) as { id: string }[]).map((b) => b.id)).toContain('owncore');
  expect(marks()).toEqual([]);
});
