import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkEngineChoice,
  configError,
  createInferenceEngine,
  ENGINE_CHOICES,
  normalizeImages,
  readInputTensor,
  writeNpy,
  type InputNormalization,
} from '@dpl/core';
import type { CommandModule } from 'yargs';
import { dplHome, type CliContext } from '../context';
import { resolveWeights } from '../weights-source';

interface Args {
  backbone: string;
  weights?: string;
  seed?: number;
  input: string;
  points: string;
  out: string;
  normalize: string;
  engine: string;
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
      .option('engine', {
        type: 'string',
        default: 'auto',
        describe: `${ENGINE_CHOICES.join(' | ')}: onnx runs the exported graph on onnxruntime-node; auto uses it when installed, else tfjs`,
      })
      .conflicts('weights', 'seed') as never,
  handler: async (a) => {
    if (a.normalize !== 'imagenet' && a.normalize !== 'none') {
      throw configError(`--normalize ${a.normalize}`, 'is not a normalisation', 'use imagenet or none');
    }
    const choice = checkEngineChoice(a.engine, '--engine');
    const backend = await ctx.backend();
    const b = (await ctx.registry()).backbone(a.backbone);
    const points = b.resolvePoints(a.points); // fails on a bad point before anything is loaded
    const input = await readInputTensor(path.resolve(ctx.io.cwd, a.input));
    const build = await resolveWeights(b, a.weights && path.resolve(ctx.io.cwd, a.weights), a.seed);
    const extractor = b.build(build);
    const outDir = path.resolve(ctx.io.cwd, a.out);
    fs.mkdirSync(outDir, { recursive: true });
    const written: { point: string; shape: number[]; file: string }[] = [];
    const start = Date.now();
    const engine = await createInferenceEngine(
      choice,
      extractor,
      points.map((p) => p.name),
      { layout: 'nchw', weights: build.weights, cacheDir: path.join(dplHome(), 'onnx'), log: (l) => ctx.io.err(l) },
    ).catch((e: unknown) => {
      input.dispose();
      extractor.dispose();
      throw e;
    });
    try {
      const x = normalizeImages(input, a.normalize as InputNormalization);
      // the engine reads PyTorch's NCHW, the layout the .npy files are written in
      const nchw = tf.transpose(x, [0, 3, 1, 2]);
      x.dispose();
      const data = (await nchw.data()) as Float32Array;
      const shape = nchw.shape;
      nchw.dispose();
      const feats = await engine.run({ data, shape });
      for (const p of points) {
        const t = feats.get(p.name)!;
        const file = path.join(outDir, `${p.name}.npy`);
        fs.writeFileSync(file, writeNpy(t.shape, t.data));
        written.push({ point: p.name, shape: t.shape, file });
      }
    } finally {
      await engine.dispose();
      input.dispose();
      extractor.dispose();
    }
    const engineRecord = engine.describe();
    const result = {
      backbone: b.id,
      engine: engineRecord,
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
    const on = engine.name === 'onnx' ? 'onnx' : `tfjs-${backend.name}`;
    ctx.io.out(`${b.id} on ${on}: ${written.length} points in ${result.seconds.toFixed(2)} s`);
  },
});
