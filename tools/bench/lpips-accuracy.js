#!/usr/bin/env node
/**
 * LPIPS accuracy per image size (docs/LPIPS.md): the relative error of dpl's LPIPS distance
 * against the reference formula computed in float64 by torch (tools/parity/lpips_forward.py, same
 * seeded weights and images), for
 *   float32-mean: the differentiable PerceptualDistance.compute (float32 tf.mean, tfjs),
 *   tfjs, onnx:   EngineDistance.distances (what `dpl similarity` uses: float64 spatial means
 *                 and layer sum) on each engine.
 * Also records the process's peak resident memory after each engine run.
 *
 * usage: node tools/bench/lpips-accuracy.js [--nets alex,squeeze] [--sizes 768x1024,2160x3840]
 *          [--version 0.1] [--engines tfjs,onnx] [--backend wasm|cpu] [--out FILE]
 * needs a build first (npx tsc -b tsconfig.build.json); DPL_PYTHON picks the reference Python (else the python3 that has torch).
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const core = require('../../packages/core/dist');

const PYTHON = require('../../packages/core/dist/testkit/python').referencePython().python; // $DPL_PYTHON or the python3 with torch
const ROOT = path.resolve(__dirname, '../..');
const BACKBONE = { alex: 'alexnet', vgg: 'vgg16', squeeze: 'squeezenet1_1' };

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main() {
  const nets = arg('nets', 'alex,squeeze').split(',');
  const sizes = arg('sizes', '768x1024,2160x3840').split(',');
  const version = arg('version', '0.1');
  const engines = arg('engines', 'tfjs,onnx').split(',');
  const out = arg('out', path.join(ROOT, 'dpl-out', `lpips-accuracy-${Date.now()}.json`));
  // wasm's heap stops at 4 GB: squeezenet at 3840x2160 needs --backend cpu (JS memory)
  await core.initBackend(arg('backend', 'wasm'));
  const registry = await core.createRegistry({ cwd: ROOT });
  const rows = [];
  for (const net of nets) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dpl-lpips-acc-${net}-`));
    try {
      execFileSync(
        PYTHON,
        [
          path.join(ROOT, 'tools/parity/lpips_forward.py'),
          '--net',
          net,
          '--out',
          dir,
          '--sizes',
          sizes.join(','),
          '--combos',
          `${version}:lin`,
        ],
        {
          stdio: 'inherit',
        },
      );
      const b = registry.backbone(BACKBONE[net]);
      const sd = await core.readWeights(path.join(dir, 'weights.pth'));
      const lin = await core.loadLpipsLinWeights(path.join(dir, `lin_v${version}.pth`), b.id);
      const extractor = b.build({ weights: sd, weightsSource: { file: 'seeded' } });
      const distance = new core.PerceptualDistance({
        extractor,
        points: lin.points,
        input: { range: '[0,1]', normalize: version === '0.1' ? 'lpips' : 'signed' },
        variant: 'lin',
        linWeights: lin.weights,
      });
      for (const size of sizes) {
        // a float64 [1] array: its last 8 bytes (readNpy would round it to float32)
        const raw = fs.readFileSync(path.join(dir, `dist_${version}_lin_${size}.npy`));
        const want = raw.readDoubleLE(raw.length - 8);
        const read = (f) => core.readInputTensor(path.join(dir, `${f}_${size}.npy`));
        const [x, y] = [await read('x0'), await read('x1')];
        const row = { net, size, version, backend: core.backendName(), reference: want };
        try {
          const f32 = distance.compute(x, y);
          row['float32-mean'] = Math.abs((await f32.data())[0] - want) / want;
          f32.dispose();
        } catch (e) {
          row['float32-mean'] = `failed: ${e.message.split('\n')[0]}`;
        }
        for (const choice of engines) {
          try {
            const engine = await core.createEngineDistance(choice, distance, {
              weights: sd,
              cacheDir: path.join(os.tmpdir(), 'dpl-lpips-acc-onnx'),
            });
            try {
              const d = await engine.distances(x, y);
              row[choice] = Math.abs(d[0] - want) / want;
            } finally {
              await engine.dispose();
            }
          } catch (e) {
            row[choice] = `failed: ${e.message.split('\n')[0]}`;
          }
          row[`${choice}-peak-rss-GB`] = +(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2);
        }
        tf.dispose([x, y]);
        rows.push(row);
        console.log(JSON.stringify(row));
      }
      distance.dispose();
      extractor.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ rows }, null, 2));
  console.log(`written to ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
