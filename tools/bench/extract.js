#!/usr/bin/env node
/**
 * Forward-extraction timing on the current backend (default wasm): one pass to the deepest paper
 * point, warm-up excluded, median of N runs. usage: node tools/bench/extract.js [backbone...]
 *   env: SIZES=64,224 BATCH=1 RUNS=5 DPL_BACKEND=wasm
 */
const tf = require('@tensorflow/tfjs-core');
const { initBackend, createRegistry } = require('../../packages/core/dist');

(async () => {
  const backend = await initBackend(process.env.DPL_BACKEND || 'wasm');
  const reg = await createRegistry({ cwd: process.cwd() });
  const ids = process.argv.slice(2).length ? process.argv.slice(2) : ['vgg16'];
  const sizes = (process.env.SIZES || '64,224').split(',').map(Number);
  const batch = Number(process.env.BATCH || 1);
  const runs = Number(process.env.RUNS || 5);
  const rows = [];
  for (const id of ids) {
    const b = reg.backbone(id);
    const ex = b.build({ seed: 0 });
    const points = b
      .points()
      .filter((p) => p.paper)
      .map((p) => p.name);
    for (const s of sizes) {
      const x = tf.randomUniform([batch, s, s, 3]);
      const once = async () => {
        const t = performance.now();
        const m = ex.extract(x, points);
        await Promise.all([...m.values()].map((v) => v.data()));
        tf.dispose([...m.values()]);
        return performance.now() - t;
      };
      await once(); // warm-up
      const times = [];
      for (let i = 0; i < runs; i++) times.push(await once());
      times.sort((a, b) => a - b);
      const med = times[Math.floor(times.length / 2)];
      rows.push({ backbone: id, size: s, batch, ms: +med.toFixed(1), imagesPerSec: +((1000 * batch) / med).toFixed(2) });
      x.dispose();
    }
    ex.dispose();
  }
  console.log(`backend ${backend.name}, median of ${runs}, batch ${batch}, all four paper points in one pass`);
  console.table(rows);
})();
