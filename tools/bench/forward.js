#!/usr/bin/env node
/**
 * Forward throughput (images/s) of the study networks up to their deepest paper point, on every
 * engine dpl has (tfjs-wasm, tfjs-cpu for one small net, onnx = onnxruntime-node) next to PyTorch
 * (tools/bench/torch_forward.py, /usr/bin/python3, threads = core count), in one run. Prints a
 * table with each engine's ratio to PyTorch and writes the numbers as JSON.
 *
 * One pass computes all four paper points (dpl's extraction contract); tfjs timings include
 * reading the features back, onnx timings the session run with its outputs, PyTorch the module
 * list up to the deepest point under no_grad. Warm-up runs are excluded; the median of --runs.
 * The engines' runs are interleaved (torch, onnx, wasm, torch, ...) so that load from other
 * processes during a cell hits them alike; the load average is recorded per cell.
 * Random weights (seed 0) everywhere: speed does not depend on the values.
 *
 * usage: node tools/bench/forward.js [--nets vgg16,resnet50] [--sizes 64,224] [--batches 1,8]
 *          [--runs 5] [--warmup 2] [--engines torch,onnx,tfjs-wasm,tfjs-cpu] [--cpu-net squeezenet1_1]
 *          [--threads N] [--out FILE (default dpl-out/bench-forward-<time>.json)] [--quick] [--modern]
 *   --quick: vgg16 and squeezenet1_1, batch 8 only (the issue's done-when cells plus the tfjs-cpu net)
 *   --modern: the six later networks of suites/modern.yaml (docs/MODERN.md), one 224x224 image, their
 *     four default points, on torch, onnx and tfjs-wasm. A network outside the study has no module
 *     indices: PyTorch runs the whole model under forward hooks on the points' torchModule and stops
 *     after the deepest one.
 * needs a build first (npm run build); DPL_PYTHON picks the reference Python (else the python3 that has torch).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const tf = require('@tensorflow/tfjs-core');
const core = require('../../packages/core/dist');

const PYTHON = require('../../packages/core/dist/testkit/python').referencePython().python; // $DPL_PYTHON or the python3 with torch

/** One network per family added after the study (suites/modern.yaml). */
const MODERN = ['convnext_tiny', 'mobilenet_v3_large', 'regnet_y_400mf', 'efficientnet_v2_s', 'vit_b_16', 'swin_t'];

function parseArgs(argv) {
  const o = {
    nets: null,
    sizes: [64, 224],
    batches: [1, 8],
    runs: 5,
    warmup: 2,
    engines: ['torch', 'onnx', 'tfjs-wasm', 'tfjs-cpu'],
    cpuNet: 'squeezenet1_1',
    threads: core.coreCount(),
    out: null,
  };
  const list = (v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--nets') o.nets = list(next());
    else if (a === '--sizes') o.sizes = list(next()).map(Number);
    else if (a === '--batches') o.batches = list(next()).map(Number);
    else if (a === '--runs') o.runs = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--engines') o.engines = list(next());
    else if (a === '--cpu-net') o.cpuNet = next();
    else if (a === '--threads') o.threads = Number(next());
    else if (a === '--out') o.out = next();
    else if (a === '--modern') {
      o.nets = o.nets ?? MODERN;
      o.sizes = [224];
      o.batches = [1];
      o.engines = ['torch', 'onnx', 'tfjs-wasm'];
    } else if (a === '--quick') {
      o.nets = o.nets ?? ['vgg16', 'squeezenet1_1'];
      o.batches = [8];
    } else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(path.join(__dirname, 'forward.js'), 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (!(o.runs >= 5)) throw new Error('--runs must be at least 5 (the median of at least five runs)');
  const known = ['torch', 'onnx', 'tfjs-wasm', 'tfjs-cpu'];
  for (const e of o.engines) if (!known.includes(e)) throw new Error(`unknown engine ${e}; use some of ${known.join(',')}`);
  return o;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Times several engines on one cell with their runs interleaved (a, b, c, a, b, c, ...), so
 * that a change in machine load during the cell hits every engine alike; warm-up runs first.
 */
async function timeInterleaved(runners, warmup, runs) {
  for (const r of runners) for (let i = 0; i < warmup; i++) await r.once();
  const times = new Map(runners.map((r) => [r.name, []]));
  for (let i = 0; i < runs; i++) for (const r of runners) times.get(r.name).push(await r.once());
  return times;
}

/** A runner whose time is measured here around `run`. */
const jsRunner = (name, run) => ({
  name,
  async once() {
    const t = performance.now();
    await run();
    return performance.now() - t;
  },
});

/** The PyTorch worker: one process for the whole run, jobs over stdin/stdout. */
function startTorch(threads) {
  const child = spawn(PYTHON, [path.join(__dirname, 'torch_forward.py')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, DPL_BENCH_THREADS: String(threads) },
  });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(JSON.parse(l)));
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ error: `torch worker exited (${code})` })));
  return {
    ready: Promise.race([next(), exited]),
    async run(job) {
      const p = next();
      child.stdin.write(`${JSON.stringify(job)}\n`);
      return Promise.race([p, exited]);
    },
    stop() {
      child.stdin.end();
    },
  };
}

function randomNchw(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  const r = core.mulberry32(seed);
  for (let i = 0; i < n; i++) d[i] = r();
  return d;
}

const nhwcOf = (nchw, [n, c, h, w]) => {
  const out = new Float32Array(nchw.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[((b * h + y) * w + x) * c + k] = nchw[((b * c + k) * h + y) * w + x];
  return out;
};

function fmt(v) {
  // batch-1 rates of the big networks are below 1 img/s: keep two significant digits there
  return v === undefined || v === null ? '-' : v.toFixed(v < 1 ? 2 : 1);
}

function table(rows, engines) {
  const js = engines.filter((e) => e !== 'torch');
  const head = ['network', 'size', 'batch', 'torch img/s', ...js.flatMap((e) => [`${e} img/s`, `${e}/torch`])];
  const body = rows.map((r) => {
    const t = r.results.torch?.imagesPerSec;
    return [
      r.net,
      String(r.size),
      String(r.batch),
      fmt(t),
      ...js.flatMap((e) => {
        const v = r.results[e]?.imagesPerSec;
        return [fmt(v), v && t ? `${(v / t).toFixed(2)}x` : '-'];
      }),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => (i < 1 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const reg = await core.createRegistry({ cwd: path.resolve(__dirname, '../..') });
  const study = reg.backbones().filter((b) => b.metadata.inStudy);
  const nets = o.nets ? o.nets.map((id) => reg.backbone(id)) : study;
  const ort = core.loadOnnxRuntime();
  const engines = o.engines.filter((e) => {
    if (e === 'onnx' && !ort.ok) {
      console.warn(`onnx: skipped (${ort.reason})`);
      return false;
    }
    return true;
  });
  let torch = null;
  let torchInfo = null;
  if (engines.includes('torch')) {
    torch = startTorch(o.threads);
    torchInfo = await torch.ready;
    if (torchInfo.error || !torchInfo.ready) {
      console.warn(`torch: skipped (${torchInfo.error ?? 'worker did not start'})`);
      torch = null;
      engines.splice(engines.indexOf('torch'), 1);
    }
  }
  const started = new Date().toISOString();
  const load0 = os.loadavg();
  console.log(
    `forward throughput, median of ${o.runs} after ${o.warmup} warm-up; ${os.cpus().length} cores, intra-op threads ${o.threads}; load ${load0.map((v) => v.toFixed(2)).join(' ')}`,
  );
  const rows = [];
  for (const b of nets) {
    const pts = b.resolvePoints('paper');
    const names = pts.map((p) => p.name);
    const deepest = pts.reduce((a, p) => (p.node > a.node ? p : a));
    // the study's networks by module index, the others by the points' torchvision modules
    const where = pts.every((p) => p.studyIndex !== undefined)
      ? { indices: pts.map((p) => p.studyIndex) }
      : { modules: pts.map((p) => p.torchModule) };
    await core.initBackend('wasm');
    const extractor = b.build({ seed: 0 });
    let onnx = null;
    if (engines.includes('onnx')) {
      onnx = await core.createInferenceEngine('onnx', extractor, names, { layout: 'nchw', cacheDir: null, threads: o.threads });
    }
    for (const size of o.sizes) {
      const min = Math.max(...pts.map((p) => p.minInputSize));
      if (size < min) {
        console.log(`${b.id} @${size}: skipped (needs ${min}x${min})`);
        continue;
      }
      for (const batch of o.batches) {
        const shape = [batch, 3, size, size];
        const nchw = randomNchw(shape, 1);
        const nhwc = nhwcOf(nchw, shape);
        const row = { net: b.id, size, batch, deepest: deepest.name, results: {}, load: null };
        const record = (engine, times) => {
          const med = median(times);
          row.results[engine] = { timesMs: times.map((t) => +t.toFixed(2)), medianMs: +med.toFixed(2), imagesPerSec: (batch * 1000) / med };
        };
        const runners = [];
        if (torch) {
          // the worker times its own forward pass; one run per call keeps the engines interleaved
          runners.push({
            name: 'torch',
            async once() {
              const r = await torch.run({ net: b.id, ...where, size, batch, runs: 1, warmup: 0 });
              if (r.error) throw new Error(`torch ${b.id} @${size} x${batch}: ${r.error}`);
              return r.times_ms[0];
            },
          });
        }
        if (onnx) runners.push(jsRunner('onnx', () => onnx.run({ data: nchw, shape })));
        if (engines.includes('tfjs-wasm')) {
          const e = await core.createInferenceEngine('tfjs', extractor, names, { layout: 'nhwc' });
          runners.push(jsRunner('tfjs-wasm', () => e.run({ data: nhwc, shape: [batch, size, size, 3] })));
        }
        for (const [name, times] of await timeInterleaved(runners, o.warmup, o.runs)) record(name, times);
        if (engines.includes('tfjs-cpu') && b.id === o.cpuNet) {
          // another tfjs backend cannot interleave with wasm: its own loop, after the others
          await core.initBackend('cpu');
          const cpuExtractor = b.build({ seed: 0 });
          const e = await core.createInferenceEngine('tfjs', cpuExtractor, names, { layout: 'nhwc' });
          const t = await timeInterleaved(
            [jsRunner('tfjs-cpu', () => e.run({ data: nhwc, shape: [batch, size, size, 3] }))],
            o.warmup,
            o.runs,
          );
          record('tfjs-cpu', t.get('tfjs-cpu'));
          cpuExtractor.dispose();
          await core.initBackend('wasm');
        }
        row.load = os.loadavg()[0];
        rows.push(row);
        const parts = Object.entries(row.results).map(([k, v]) => `${k} ${v.imagesPerSec.toFixed(1)}`);
        console.log(`${b.id} @${size} x${batch}: ${parts.join(', ')} img/s (load ${row.load.toFixed(2)})`);
      }
    }
    if (onnx) await onnx.dispose();
    extractor.dispose();
    tf.disposeVariables();
  }
  torch?.stop();
  const load1 = os.loadavg();
  const md = table(rows, engines);
  console.log(`\n${md}\n`);
  console.log(`load average at start ${load0.map((v) => v.toFixed(2)).join(' ')}, at end ${load1.map((v) => v.toFixed(2)).join(' ')}`);
  // dpl-out/ is git-ignored
  const out = o.out ?? path.join(process.cwd(), 'dpl-out', `bench-forward-${started.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const doc = {
    kind: 'dpl-forward-bench',
    started,
    finished: new Date().toISOString(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadStart: load0, loadEnd: load1 },
    settings: { runs: o.runs, warmup: o.warmup, threads: o.threads, sizes: o.sizes, batches: o.batches, cpuNet: o.cpuNet },
    versions: {
      onnxruntime: ort.ok ? ort.version : null,
      torch: torchInfo && torchInfo.torch,
      torchvision: torchInfo && torchInfo.torchvision,
      tfjs: tf.version_core,
    },
    rows,
    table: md,
  };
  fs.writeFileSync(out, JSON.stringify(doc, null, 2));
  console.log(`written to ${out}`);
}

main().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exit(1);
});
