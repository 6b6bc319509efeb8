#!/usr/bin/env node
/**
 * Plugin start-up cost: the time to find and load the default plugins (createRegistry, what every
 * dpl command pays first), the part of it spent validating backbone graphs at load (checkGraph on
 * fresh backbones), and `dpl list backbones` end to end from a folder outside any project.
 * Median of RUNS fresh processes. usage: node tools/bench/plugins.js   env: RUNS=5
 */
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'packages', 'cli');
const runs = Number(process.env.RUNS || 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// one fresh process per measurement: module caches and graph caches start empty
const child = `
const { performance } = require('node:perf_hooks');
const path = require('node:path');
const core = require(${JSON.stringify(path.join(ROOT, 'packages/core/dist'))});
const { checkGraph } = require(${JSON.stringify(path.join(ROOT, 'packages/core/dist/plugins/contributions.js'))});
const { Container } = require('inversify');
(async () => {
  const mode = process.argv[1];
  if (mode === 'registry') {
    const t = performance.now();
    const reg = await core.createRegistry({ cwd: require('node:os').tmpdir(), defaultsFrom: ${JSON.stringify(CLI)}, envPlugins: [] });
    console.log(JSON.stringify({ ms: performance.now() - t, backbones: reg.backbones().length }));
  } else {
    const c = new Container();
    for (const f of core.defaultPlugins(${JSON.stringify(CLI)}).filter((p) => p.manifest.kind === 'backbone'))
      await c.load(require(path.join(f.dir, f.manifest.module)).default);
    const all = c.getAll(core.BackboneToken);
    const t = performance.now();
    for (const b of all) checkGraph(b);
    console.log(JSON.stringify({ ms: performance.now() - t, backbones: all.length }));
  }
})();`;

const time = (mode) => {
  const r = [];
  for (let i = 0; i < runs; i++) r.push(JSON.parse(execFileSync(process.execPath, ['-e', child, mode], { cwd: ROOT, encoding: 'utf8' })));
  return { ms: median(r.map((x) => x.ms)), backbones: r[0].backbones };
};
const wall = () => {
  const r = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    execFileSync(process.execPath, [path.join(CLI, 'dist', 'main.js'), 'list', 'backbones'], { cwd: os.tmpdir(), stdio: 'ignore' });
    r.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(r);
};

const reg = time('registry');
const graphs = time('graphs');
console.log(`createRegistry (defaults, from ${os.tmpdir()}): ${reg.ms.toFixed(0)} ms for ${reg.backbones} backbones`);
console.log(`  of which graph validation (checkGraph, all backbones): ${graphs.ms.toFixed(0)} ms`);
console.log(`dpl list backbones (process wall time, from ${os.tmpdir()}): ${wall().toFixed(0)} ms   (median of ${runs})`);
