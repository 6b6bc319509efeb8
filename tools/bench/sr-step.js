#!/usr/bin/env node
/**
 * Super-resolution training-step timing on the current backend (default wasm): batch 4 through
 * the x4 transform network and a frozen vgg16 cut at relu2_2 (seeded random weights), feature
 * MSE, gradients and the Adam update; warm-up excluded, median of RUNS. Then the same step in
 * PyTorch (tools/bench/sr_step_torch.py, /usr/bin/python3, 2 threads) and the ratio, and the
 * tensor count over STEPS steps of the smallest size (it must stay flat).
 * Needs the built dist of core, vgg and the super-resolution task (npm run build).
 *   usage: node tools/bench/sr-step.js
 *   env: SIZES=72,16 (LR sides; HR = 4x) RUNS=3 STEPS=100 BATCH=4 DPL_BACKEND=wasm NO_TORCH=1 PYTHON=<python with torch; default: DPL_PYTHON or the python3 that has torch>
 */
const path = require('path');
const { spawnSync } = require('child_process');
const tf = require('@tensorflow/tfjs-core');
const { initBackend, ParamStore, adam } = require('../../packages/core/dist');
const { vggBackbones } = require('../../packages/backbones/vgg/dist');
const { transformNet, buildTransformNet, FeatureMse } = require('../../packages/tasks/super-resolution/dist');

const env = (k, d) => process.env[k] || d;

(async () => {
  const backend = await initBackend(env('DPL_BACKEND', 'wasm'));
  const sizes = env('SIZES', '72,16').split(',').map(Number);
  const runs = Number(env('RUNS', 3));
  const steps = Number(env('STEPS', 100));
  const batch = Number(env('BATCH', 4));
  const vgg = vggBackbones()
    .find((b) => b.id === 'vgg16')
    .build({ seed: 0 });
  const loss = new FeatureMse({ extractor: vgg, point: 'relu2_2', normalize: 'none', mode: 'eval' });

  const rows = [];
  let tensorRow = null;
  for (const lrSide of sizes) {
    const hrSide = lrSide * 4;
    const store = new ParamStore(42);
    buildTransformNet(store, 4);
    const opt = adam({ lr: 1e-3 });
    const vars = store.trainableVariables();
    const x = tf.randomUniform([batch, lrSide, lrSide, 3], 0, 1, 'float32', 1);
    const target = tf.tidy(() => loss.features(tf.randomUniform([batch, hrSide, hrSide, 3], 0, 1, 'float32', 2)));
    const step = async () => {
      const t = performance.now();
      const { value, grads } = opt.computeGradients(() => loss.loss(transformNet(store, x, 4, true), target), vars);
      opt.applyGradients(grads);
      await value.data();
      tf.dispose([value, grads]);
      return performance.now() - t;
    };
    await step(); // warm-up (creates Adam's slots)
    const times = [];
    for (let i = 0; i < runs; i++) times.push(await step());
    times.sort((a, b) => a - b);
    rows.push({ lr: lrSide, hr: hrSide, batch, ms: +times[Math.floor(times.length / 2)].toFixed(1) });
    if (lrSide === Math.min(...sizes) && steps > 0) {
      const counts = [];
      for (let i = 0; i < steps; i++) {
        await step();
        counts.push(tf.memory().numTensors);
      }
      tensorRow = {
        size: `${lrSide}->${hrSide}`,
        steps,
        first: counts[0],
        last: counts[counts.length - 1],
        min: Math.min(...counts),
        max: Math.max(...counts),
      };
    }
    tf.dispose([x, target]);
    opt.dispose();
    store.dispose();
  }

  let torchRows = [];
  if (!process.env.NO_TORCH) {
    const py = process.env.PYTHON || require('../../packages/core/dist/testkit/python').referencePython().python;
    const r = spawnSync(py, [path.join(__dirname, 'sr_step_torch.py')], {
      encoding: 'utf8',
      env: { ...process.env, SIZES: sizes.join(','), RUNS: String(Math.max(runs, 3)), BATCH: String(batch), THREADS: '2' },
    });
    if (r.status === 0)
      torchRows = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    else console.log(`torch reference not run: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`);
  }
  for (const row of rows) {
    const t = torchRows.find((q) => q.size[0] === row.lr);
    if (t) Object.assign(row, { torchMs: t.ms, ratio: +(row.ms / t.ms).toFixed(2) });
  }
  console.log(
    `super-resolution training step (x4 transform net + frozen vgg16 to relu2_2, Adam), backend ${backend.name}, median of ${runs}; torch: ${torchRows[0] ? `${torchRows[0].torch}, ${torchRows[0].threads} threads` : 'not run'}`,
  );
  console.table(rows);
  if (tensorRow) {
    console.log(
      `tensor count over ${tensorRow.steps} steps at ${tensorRow.size}: first ${tensorRow.first}, last ${tensorRow.last}, min ${tensorRow.min}, max ${tensorRow.max} (${tensorRow.min === tensorRow.max ? 'flat' : 'NOT FLAT'})`,
    );
  }
  vgg.dispose();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
