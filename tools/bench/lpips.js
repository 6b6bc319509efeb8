#!/usr/bin/env node
/**
 * LPIPS throughput (pairs/s) over folders of 256x256 PNG pairs: `dpl similarity --lpips` on each
 * engine against the lpips package's computation in PyTorch (tools/bench/lpips_torch.py: float32,
 * no_grad, the same torchvision features, taps and lin weights, threads = core count) on the same
 * machine. Same seeded network and lin weights on both sides (tools/parity/lpips_forward.py), so the
 * mean distances are printed side by side as a check.
 *
 * dpl's figure is its `pairSeconds` (reading the PNGs, the network and the distance for every pair,
 * after the network and engine are built, as torch's excludes building the model), from a second
 * run (the first one exports the ONNX model into the cache). Torch runs with batch 1 (as the
 * package's lpips_2dirs.py) and with dpl's batch.
 *
 * usage: node tools/bench/lpips.js [--nets alex,vgg] [--pairs 64] [--batch 8] [--engines onnx,tfjs]
 *          [--out FILE (default dpl-out/bench-lpips-<time>.json)]
 * needs a build first (npx tsc -b tsconfig.build.json); DPL_PYTHON picks the reference Python (else the python3 that has torch).
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');

const PYTHON = require('../../packages/core/dist/testkit/python').referencePython().python; // $DPL_PYTHON or the python3 with torch
const ROOT = path.resolve(__dirname, '../..');
const DPL = path.join(ROOT, 'packages/cli/dist/main.js');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function pngs(dir, n, seed) {
  fs.mkdirSync(dir, { recursive: true });
  let s = seed;
  for (let i = 0; i < n; i++) {
    const buf = Buffer.alloc(256 * 256 * 3);
    for (let k = 0; k < buf.length; k++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      buf[k] = s >> 23;
    }
    await sharp(buf, { raw: { width: 256, height: 256, channels: 3 } })
      .png()
      .toFile(path.join(dir, `p${String(i).padStart(4, '0')}.png`));
  }
}

async function main() {
  const nets = arg('nets', 'alex,vgg').split(',');
  const pairs = Number(arg('pairs', '64'));
  const batch = arg('batch', '8');
  const engines = arg('engines', 'onnx,tfjs').split(',');
  const out = arg('out', path.join(ROOT, 'dpl-out', `bench-lpips-${Date.now()}.json`));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-bench-lpips-'));
  const home = path.join(tmp, 'home');
  const rows = [];
  try {
    const [d0, d1] = [path.join(tmp, 'd0'), path.join(tmp, 'd1')];
    await pngs(d0, pairs, 1);
    await pngs(d1, pairs, 2);
    for (const net of nets) {
      const w = path.join(tmp, net);
      execFileSync(PYTHON, [
        path.join(ROOT, 'tools/parity/lpips_forward.py'),
        '--net',
        net,
        '--out',
        w,
        '--sizes',
        '64x64',
        '--combos',
        '0.1:lin',
      ]);
      const lin = path.join(w, 'lin_v0.1.pth');
      const torch = (b) =>
        JSON.parse(
          execFileSync(
            PYTHON,
            [path.join(ROOT, 'tools/bench/lpips_torch.py'), '--net', net, '--dir0', d0, '--dir1', d1, '--lin', lin, '--batch', b],
            { encoding: 'utf8' },
          ),
        );
      const t1 = torch('1');
      const tb = torch(batch);
      const row = {
        net,
        size: '256x256',
        pairs,
        threads: os.cpus().length,
        torch: { batch1: t1.pairs_per_s, [`batch${batch}`]: tb.pairs_per_s, mean: t1.mean },
      };
      for (const e of engines) {
        const args = [
          DPL,
          'similarity',
          '--dir0',
          d0,
          '--dir1',
          d1,
          '--lpips',
          '--net',
          net,
          '--weights',
          path.join(w, 'weights.pth'),
          '--lin-weights',
          lin,
        ];
        args.push('--engine', e, '--batch', batch, '--json');
        const env = { ...process.env, DPL_HOME: home, DPL_BACKEND: 'wasm' };
        execFileSync('node', args, { env, stdio: 'pipe' }); // warm-up (ONNX export into the cache)
        const r = JSON.parse(execFileSync('node', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
        row[e] = { pairsPerS: pairs / r.pairSeconds, mean: r.mean, vsTorchBatch1: pairs / r.pairSeconds / t1.pairs_per_s };
      }
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ rows, loadavg: os.loadavg() }, null, 2));
  console.log(`written to ${out}`);
}

main().catch((e) => {
  console.error(e.stderr ? String(e.stderr) : e);
  process.exit(1);
});
