#!/usr/bin/env node
/**
 * The offline main job (`npm start`): runs the quick suite (suites/quick.yaml: a few loss
 * networks x their paper points x the four use cases, on synthetic data, with seeded random
 * weights unless pretrained ones are cached) into dpl-out/results.sqlite, then writes the
 * analysis report to dpl-out/report/. Run it again and finished cells are kept, not rerun.
 *   node tools/main-job.js [out-dir] [suite] [-- extra dpl run flags]
 */
const path = require('node:path');
const { runCli } = require('../packages/cli/dist/cli');

(async () => {
  const dash = process.argv.indexOf('--');
  const pos = process.argv.slice(2, dash < 0 ? undefined : dash);
  const extra = dash < 0 ? [] : process.argv.slice(dash + 1);
  const out = path.resolve(pos[0] ?? 'dpl-out');
  const suite = pos[1] ?? path.join(__dirname, '..', 'suites', 'quick.yaml');
  const store = path.join(out, 'results.sqlite');
  const t0 = Date.now();
  const run = await runCli(['run', suite, '--store', store, ...extra]);
  // cells that failed are listed above; the report still shows everything that finished
  if (run === 2) process.exit(2);
  const report = await runCli(['report', '--store', store, '--out', path.join(out, 'report')]);
  console.log(`\nmain job ${run || report ? 'finished with errors' : 'done'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`results store: ${store}`);
  console.log(`report: ${path.join(out, 'report', 'report.html')} (and report.md, .csv, .json, .tex)`);
  process.exit(run || report);
})();
