#!/usr/bin/env node
/**
 * Time of one LPIPS-alex (v0.1, lin) comparison of two 512x512 images in the browser page, on each
 * tfjs backend Chromium offers here (wasm, webgl, webgpu; cpu with --cpu): `dpl web` on a free
 * port, Debian's Chromium driven by playwright-core, the page's own Compare button. Seeded random
 * network and lin weights (speed does not depend on the values). Per backend: the first comparison
 * (backend start, wasm compile or shader compile included) and the median of --runs after it, both
 * as the page's `pairSeconds` (network and distance of the pair, from its JSON record) and
 * `seconds` (also reading the weights and building the network).
 *
 * With --screenshot FILE it also saves the page after a comparison (docs/web-page.png in the README).
 *
 * usage: node tools/bench/web.js [--runs 3] [--size 512] [--backends wasm,webgl,webgpu] [--cpu]
 *          [--screenshot docs/web-page.png] [--chromium /usr/bin/chromium]
 * needs a build first (npm run build); the images come from /usr/bin/python3 (skimage's astronaut)
 * when it has skimage, else seeded noise.
 */
/* global document, navigator -- inside page.evaluate, which runs in the browser */
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const sharp = require('sharp');
const { writeSafetensors } = require('@dpl/core');

const ROOT = path.resolve(__dirname, '../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const RUNS = Number(arg('runs', '3'));
const SIZE = Number(arg('size', '512'));
const CHROMIUM = arg('chromium', process.env.DPL_CHROMIUM ?? '/usr/bin/chromium');
const SHOT = arg('screenshot', null);
const wanted = arg('backends', 'wasm,webgl,webgpu')
  .split(',')
  .concat(process.argv.includes('--cpu') ? ['cpu'] : []);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function images(dir) {
  const a = path.join(dir, 'a.png');
  const b = path.join(dir, 'b.png');
  try {
    // a photograph and a blurred, noisier copy of it
    execFileSync('/usr/bin/python3', [
      '-c',
      `
import numpy as np
from PIL import Image, ImageFilter
from skimage import data
im = Image.fromarray(data.astronaut()).resize((${SIZE}, ${SIZE}), Image.BILINEAR)
im.save('${a}')
rng = np.random.default_rng(0)
b = np.asarray(im.filter(ImageFilter.GaussianBlur(1.5))).astype(float) + rng.normal(0, 8, (${SIZE}, ${SIZE}, 3))
Image.fromarray(np.clip(b, 0, 255).astype(np.uint8)).save('${b}')
`,
    ]);
  } catch {
    for (const [f, seed] of [
      [a, 1],
      [b, 2],
    ]) {
      const buf = Buffer.alloc(SIZE * SIZE * 3);
      let s = seed;
      for (let i = 0; i < buf.length; i++) buf[i] = (s = (s * 1103515245 + 12345) % 2147483648) >> 23;
      await sharp(buf, { raw: { width: SIZE, height: SIZE, channels: 3 } })
        .png()
        .toFile(f);
    }
  }
  return [a, b];
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-web-bench-'));
  const [a, b] = await images(dir);
  // seeded lin weights in LPIPS' key layout, non-negative
  const lin = new Map();
  [64, 192, 384, 256, 256].forEach((c, i) => {
    let s = i + 1;
    const data = Float32Array.from({ length: c }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 0.2);
    lin.set(`lin${i}.model.1.weight`, { dtype: 'float32', shape: [1, c, 1, 1], data });
  });
  const linFile = path.join(dir, 'lin.safetensors');
  await writeSafetensors(linFile, lin);

  const server = spawn(process.execPath, [path.join(ROOT, 'packages/cli/dist/main.js'), 'web', '--port', '0'], {
    env: { ...process.env, DPL_HOME: path.join(dir, 'home') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => {
      const m = /http:\/\/\S+\//.exec(String(d));
      if (m) resolve(m[0]);
    });
    server.on('exit', (c) => reject(new Error(`dpl web exited (${c})`)));
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const version = browser.version();
  const rows = [];
  // what the browser has: WebGL's renderer (SwiftShader is Chromium's CPU rasteriser) and a WebGPU adapter
  const probe = await browser.newPage();
  await probe.goto(url);
  const gpu = await probe.evaluate(async () => {
    const gl = document.createElement('canvas').getContext('webgl2');
    const ext = gl && gl.getExtension('WEBGL_debug_renderer_info');
    const adapter = navigator.gpu ? await navigator.gpu.requestAdapter().catch(() => null) : null;
    return {
      webgl: gl ? String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)) : 'none',
      webgpu: navigator.gpu ? (adapter ? 'adapter found' : 'navigator.gpu present, no adapter') : 'no navigator.gpu',
    };
  });
  await probe.close();
  try {
    for (const backend of wanted) {
      const page = await browser.newPage({ viewport: { width: 1100, height: 1500 } });
      await page.goto(`${url}?backend=${backend}`);
      await page.setInputFiles('#image-a', a);
      await page.setInputFiles('#image-b', b);
      await page.check('input[name="wsource"][value="random"]');
      await page.setInputFiles('#lin-file', linFile);
      const records = [];
      for (let i = 0; i <= RUNS; i++) {
        await page.click('#compare');
        await page.locator('main[aria-busy="false"]').waitFor({ timeout: 600_000 });
        if (await page.isVisible('#error')) {
          records.push({ error: await page.textContent('#error') });
          break;
        }
        const [d] = await Promise.all([page.waitForEvent('download'), page.click('#dl-json')]);
        records.push(JSON.parse(fs.readFileSync(await d.path(), 'utf8')));
      }
      const used = await page.textContent('#backend-name');
      const notes = await page.textContent('#backend-notes');
      if (records[0].error || used !== backend) {
        rows.push({ backend, offered: false, why: records[0].error ?? `the page fell back to ${used} ${notes}` });
      } else {
        const later = records.slice(1);
        rows.push({
          backend,
          offered: true,
          distance: records[0].distance,
          firstPairSeconds: records[0].pairSeconds,
          firstSeconds: records[0].seconds,
          pairSeconds: median(later.map((r) => r.pairSeconds)),
          seconds: median(later.map((r) => r.seconds)),
        });
        if (SHOT && backend === 'wasm') {
          await page.locator('#result').scrollIntoViewIfNeeded();
          await page.screenshot({ path: path.resolve(SHOT), fullPage: true });
        }
      }
      await page.close();
    }
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`LPIPS alex v0.1 (lin), ${SIZE}x${SIZE}, Chromium ${version}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
  console.log(`WebGL renderer: ${gpu.webgl}; WebGPU: ${gpu.webgpu}`);
  console.log('| backend | first comparison (s) | comparison, median of ' + RUNS + ' (s) | with weights and build (s) | distance |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows)
    console.log(
      r.offered
        ? `| ${r.backend} | ${r.firstPairSeconds.toFixed(2)} | ${r.pairSeconds.toFixed(2)} | ${r.seconds.toFixed(2)} | ${r.distance} |`
        : `| ${r.backend} | not offered: ${r.why.replace(/\s+/g, ' ').trim()} | | | |`,
    );
  if (SHOT) console.log(`screenshot: ${SHOT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
