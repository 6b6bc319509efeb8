import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkEngineChoice,
  createInferenceEngine,
  type EngineTensor,
  inputError,
  ENGINE_CHOICES,
  normalizeImages,
  readInputTensor,
  writeNpy,
  type InputNormalization,
} from '@dpl/core';
import type { CommandModule } from 'yargs';
import { dplHome, type CliContext } from '../context';
import { checkInputFile, checkOutDir, choiceOption, seedOption, textOption } from '../options';
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
      .option('backbone', textOption('backbone', 'backbone id', { demandOption: true }))
      .option('weights', textOption('weights', 'torchvision .pth or .safetensors (default: the weight cache)'))
      .option('seed', seedOption('seeded random weights instead of pretrained ones (an integer >= 0)'))
      .option('input', textOption('input', 'PNG/JPEG (RGB in [0,1]) or float32 NCHW .npy', { demandOption: true }))
      .option('points', textOption('points', 'comma-separated names, study indices, paper or all', { default: 'paper' }))
      .option('out', textOption('out', 'output folder (created; an existing one is written into)', { demandOption: true }))
      .option('normalize', choiceOption('normalize', ['imagenet', 'none'], 'applied to the input first', { default: 'imagenet' }))
      .option(
        'engine',
        choiceOption('engine', ENGINE_CHOICES, 'onnx runs the exported graph on onnxruntime-node; auto uses it when installed, else tfjs', {
          default: 'auto',
        }),
      )
      .conflicts('weights', 'seed') as never,
  handler: async (a) => {
    // everything the command line names is checked before anything is loaded or written
    const choice = checkEngineChoice(a.engine, '--engine');
    const inputFile = path.resolve(ctx.io.cwd, a.input);
    const weightsFile = a.weights && path.resolve(ctx.io.cwd, a.weights);
    const outDir = path.resolve(ctx.io.cwd, a.out);
    checkInputFile('--input', inputFile);
    if (weightsFile) checkInputFile('--weights', weightsFile);
    checkOutDir('--out', outDir);
    const backend = await ctx.backend();
    const b = (await ctx.registry()).backbone(a.backbone);
    const points = b.resolvePoints(a.points); // fails on a bad point before anything is loaded
    const input = await readInputTensor(inputFile);
    if (input.shape[0] === 0) {
      input.dispose();
      throw inputError(inputFile, 'holds no images (its batch size N is 0)', 'pass an .npy of shape [N, 3, H, W] with N >= 1');
    }
    const build = await resolveWeights(b, weightsFile, a.seed).catch((e: unknown) => {
      input.dispose();
      throw e;
    });
    const extractor = b.build(build);
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
    let feats: Map<string, EngineTensor>;
    try {
      const x = normalizeImages(input, a.normalize as InputNormalization);
      // the engine reads PyTorch's NCHW, the layout the .npy files are written in
      const nchw = tf.transpose(x, [0, 3, 1, 2]);
      x.dispose();
      const data = (await nchw.data()) as Float32Array;
      const shape = nchw.shape;
      nchw.dispose();
      feats = await engine.run({ data, shape });
    } finally {
      await engine.dispose();
      input.dispose();
      extractor.dispose();
    }
    const engineRecord = engine.describe();
    const written = points.map((p) => ({ point: p.name, shape: feats.get(p.name)!.shape, file: path.join(outDir, `${p.name}.npy`) }));
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
    // the folder is made only now that every feature is computed: a failed run leaves nothing
    const created = !fs.existsSync(outDir);
    try {
      fs.mkdirSync(outDir, { recursive: true });
      for (const w of written) fs.writeFileSync(w.file, writeNpy(w.shape, feats.get(w.point)!.data));
      fs.writeFileSync(path.join(outDir, 'features.json'), JSON.stringify(result, null, 2));
    } catch (e) {
      if (created) fs.rmSync(outDir, { recursive: true, force: true });
      throw inputError(`--out ${outDir}`, `cannot be written (${(e as Error).message})`, 'choose a folder you can write to');
    }
    if (ctx.args.json) return ctx.json(result);
    if (result.randomWeights) ctx.io.out(`note: RANDOM weights (seed ${(extractor.provenance as { seed: number }).seed}), not pretrained`);
    for (const w of written) ctx.io.out(`${w.point}  [${w.shape.join(', ')}]  ${w.file}`);
    const on = engine.name === 'onnx' ? 'onnx' : `tfjs-${backend.name}`;
    ctx.io.out(`${b.id} on ${on}: ${written.length} points in ${result.seconds.toFixed(2)} s`);
  },
});
