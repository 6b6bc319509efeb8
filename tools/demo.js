#!/usr/bin/env node
/**
 * The offline main job (until the suite runner lands): describes vgg16, draws a synthetic sample
 * image, and extracts vgg16's four paper-point features from it with seeded random weights (or
 * the cached pretrained file, when `dpl weights pull vgg16` has been run).
 */
const fs = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');
const { runCli } = require('../packages/cli/dist/cli');

async function sampleImage(file, w = 128, h = 96) {
  // soft gradients, a disc and stripes: something with edges and texture
  const buf = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const disc = (x - 80) ** 2 + (y - 40) ** 2 < 600;
      const stripe = Math.floor((x + y) / 6) % 2 === 0;
      buf[i] = disc ? 220 : Math.round((255 * x) / w);
      buf[i + 1] = stripe ? 180 : 60;
      buf[i + 2] = Math.round((255 * y) / h);
    }
  await sharp(buf, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
}

(async () => {
  const out = path.resolve(process.argv[2] ?? 'demo-out');
  fs.mkdirSync(out, { recursive: true });
  const img = path.join(out, 'sample.png');
  await sampleImage(img);
  let code = await runCli(['describe', 'vgg16', '--paper', '--size', '96', '128']);
  if (code) process.exit(code);
  const useSeed = !fs.existsSync(
    path.join(process.env.DPL_HOME || path.join(require('node:os').homedir(), '.cache', 'dpl'), 'weights', 'vgg16-397923af.pth'),
  );
  code = await runCli([
    'features',
    '--backbone',
    'vgg16',
    ...(useSeed ? ['--seed', '0'] : []),
    '--input',
    img,
    '--points',
    'paper',
    '--out',
    path.join(out, 'features'),
  ]);
  if (code) process.exit(code);
  console.log(
    `\ndemo done: sample image ${img}\nfeatures (NCHW float32 .npy, one per point) and features.json in ${path.join(out, 'features')}`,
  );
})();
