import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { configError, normalizeImages, readInputTensor, writeNpy, type InputNormalization } from '@dpl/core';
import type { CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { resolveWeights } from '../weights-source';

interface Args {
  backbone: string;
  weights?: string;
  seed?: number;
  input: string;
  points: string;
  out: string;
  normalize: string;
}

export const featuresCommand = (ctx: CliContext): CommandModule<object, Args> => ({
  command: 'features',
  describe: 'extract features at extraction points; writes one float32 NCHW <point>.npy per point',
  builder: (y) =>
    y
      .option('backbone', { type: 'string', demandOption: true, describe: 'backbone id' })
      .option('weights', { type: 'string', describe: 'torchvision .pth or .safetensors (default: the weight cache)' })
      .option('seed', { type: 'number', describe: 'seeded random weights instead of pretrained ones' })
      .option('input', { type: 'string', demandOption: true, describe: 'PNG/JPEG (RGB in [0,1]) or float32 NCHW .npy' })
      .option('points', { type: 'string', default: 'paper', describe: 'comma-separated names, study indices, paper or all' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory' })
      .option('normalize', { type: 'string', default: 'imagenet', describe: 'imagenet | none (applied to the input first)' })
      .conflicts('weights', 'seed') as never,
  handler: async (a) => {
    if (a.normalize !== 'imagenet' && a.normalize !== 'none') {
      throw configError(`--normalize ${a.normalize}`, 'is not a normalisation', 'use imagenet or none');
    }
    const backend = await ctx.backend();
    const b = (await ctx.registry()).backbone(a.backbone);
    const points = b.resolvePoints(a.points); // fails on a bad point before anything is loaded
    const input = await readInputTensor(path.resolve(ctx.io.cwd, a.input));
    const extractor = b.build(await resolveWeights(b, a.weights && path.resolve(ctx.io.cwd, a.weights), a.seed));
    const outDir = path.resolve(ctx.io.cwd, a.out);
    fs.mkdirSync(outDir, { recursive: true });
    const written: { point: string; shape: number[]; file: string }[] = [];
    const start = Date.now();
    try {
      const x = normalizeImages(input, a.normalize as InputNormalization);
      const feats = extractor.extract(
        x,
        points.map((p) => p.name),
      );
      x.dispose();
      for (const p of points) {
        const t = feats.get(p.name) as tf.Tensor4D;
        const nchw = tf.transpose(t, [0, 3, 1, 2]);
        const file = path.join(outDir, `${p.name}.npy`);
        fs.writeFileSync(file, writeNpy(nchw.shape, (await nchw.data()) as Float32Array));
        written.push({ point: p.name, shape: nchw.shape, file });
        nchw.dispose();
      }
      tf.dispose([...feats.values()]);
    } finally {
      input.dispose();
      extractor.dispose();
    }
    const result = {
      backbone: b.id,
      backend: backend.name,
      weights: extractor.provenance,
      randomWeights: extractor.provenance.kind === 'random',
      normalize: a.normalize,
      input: a.input,
      seconds: (Date.now() - start) / 1000,
      outputs: written,
    };
    fs.writeFileSync(path.join(outDir, 'features.json'), JSON.stringify(result, null, 2));
    if (ctx.args.json) return ctx.json(result);
    if (result.randomWeights) ctx.io.out(`note: RANDOM weights (seed ${(extractor.provenance as { seed: number }).seed}), not pretrained`);
    for (const w of written) ctx.io.out(`${w.point}  [${w.shape.join(', ')}]  ${w.file}`);
    ctx.io.out(`${b.id} on ${backend.name}: ${written.length} points in ${result.seconds.toFixed(2)} s`);
  },
});
