import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkEngineChoice,
  configError,
  createEngineDistance,
  DplError,
  ENGINE_CHOICES,
  type EngineDistance,
  inputError,
  isDplError,
  LPIPS_POINTS,
  lpipsLinFromStateDict,
  PerceptualDistance,
  readInputTensor,
  readWeights,
  resize,
  type Backbone,
  type FeatureExtractor,
  type PerceptualNormalization,
} from '@dpl/core';
import type { CommandModule } from 'yargs';
import { dplHome, type CliContext } from '../context';
import { makeProgress } from '../progress';
import { resolveWeights } from '../weights-source';

interface Args {
  a?: string;
  b?: string;
  dir0?: string;
  dir1?: string;
  out?: string;
  backbone: string;
  points?: string;
  variant: string;
  'lin-weights'?: string;
  weights?: string;
  seed?: number;
  normalize: string;
  size?: number;
  engine: string;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.npy']);

/** Channel weights from an LPIPS v0.1 lin checkpoint or a similarity-task checkpoint (lin.<point>.weight), with their points in backbone order. */
async function readLin(file: string, b: Backbone): Promise<{ points: string[]; weights: Map<string, Float32Array> }> {
  const sd = await readWeights(file);
  const keys = [...sd.keys()];
  if (keys.some((k) => /^lin\d+\.model\.1\.weight$/.test(k))) {
    const lp = lpipsLinFromStateDict(sd, b.id, file);
    return { points: [...LPIPS_POINTS[lp.backbone].points], weights: lp.weights };
  }
  const ours = keys.filter((k) => /^lin\..+\.weight$/.test(k));
  if (!ours.length) {
    throw inputError(
      file,
      "holds no channel weights (neither LPIPS' lin<i>.model.1.weight nor lin.<point>.weight)",
      "pass LPIPS' weights/v0.1/<net>.pth or a checkpoint written by dpl run --task similarity",
    );
  }
  const weights = new Map(ours.map((k) => [b.point(k.slice(4, -7)).name, Float32Array.from(sd.get(k)!.data)]));
  const points = b
    .points()
    .map((p) => p.name)
    .filter((n) => weights.has(n));
  return { points, weights };
}

/** Same-named image files of two folders; an error lists the names found in only one of them. */
function pairNames(dir0: string, dir1: string): string[] {
  const list = (d: string) => {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw inputError(d, 'is not a folder', 'pass two folders of same-named images');
    return fs
      .readdirSync(d)
      .filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase()))
      .sort();
  };
  const [n0, n1] = [list(dir0), list(dir1)];
  const [s0, s1] = [new Set(n0), new Set(n1)];
  const only0 = n0.filter((n) => !s1.has(n));
  const only1 = n1.filter((n) => !s0.has(n));
  if (only0.length || only1.length) {
    const show = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? `, ... (${xs.length})` : ''}`;
    const parts = [only0.length ? `only in ${dir0}: ${show(only0)}` : '', only1.length ? `only in ${dir1}: ${show(only1)}` : ''].filter(
      Boolean,
    );
    throw inputError(
      `folders ${dir0} and ${dir1}`,
      `do not hold the same image names (${parts.join('; ')})`,
      'compare folders whose images pair up by file name',
    );
  }
  if (!n0.length) throw inputError(dir0, 'holds no images', `use a folder of ${[...IMAGE_EXT].join(' ')} files`);
  return n0;
}

/** An image file as [1, H, W, 3], resized to size x size (Pillow's antialiased bilinear, as torchvision's Resize on a PIL image) when asked. */
async function readResized(file: string, size: number | undefined): Promise<tf.Tensor4D> {
  const x = await readInputTensor(file);
  if (size === undefined || (x.shape[1] === size && x.shape[2] === size)) return x;
  const [, h, w, c] = x.shape;
  const img = resize({ width: w, height: h, channels: c, data: (await x.data()) as Float32Array }, size, size, 'bilinear');
  x.dispose();
  return tf.tensor4d(img.data, [1, size, size, c]);
}

async function readPair(a: string, b: string, size: number | undefined): Promise<[tf.Tensor4D, tf.Tensor4D]> {
  const x = await readResized(a, size);
  let y: tf.Tensor4D;
  try {
    y = await readResized(b, size);
  } catch (e) {
    x.dispose();
    throw e;
  }
  if (x.shape.join() !== y.shape.join()) {
    tf.dispose([x, y]);
    throw inputError(
      `${a} and ${b}`,
      `have different sizes (${x.shape[2]}x${x.shape[1]} and ${y.shape[2]}x${y.shape[1]})`,
      'compare images of the same size, or pass --size N to resize both to N x N',
    );
  }
  return [x, y];
}

export const similarityCommand = (ctx: CliContext): CommandModule<object, Args> => ({
  command: 'similarity [a] [b]',
  describe: 'perceptual (LPIPS-style) distance between two images, or between same-named images of two folders',
  builder: (y) =>
    y
      .positional('a', { type: 'string', describe: 'first image (PNG/JPEG in [0,1], or float32 NCHW .npy)' })
      .positional('b', { type: 'string', describe: 'second image' })
      .option('dir0', { type: 'string', describe: 'folder of images (pairs with --dir1 by file name)' })
      .option('dir1', { type: 'string', describe: 'second folder' })
      .option('out', { type: 'string', describe: 'with --dir0/--dir1: write name,distance rows to this CSV' })
      .option('backbone', { type: 'string', default: 'vgg16', describe: 'loss network id' })
      .option('points', {
        type: 'string',
        describe: "extraction points (names, indices, 'paper' or 'all'); default: paper, or the lin weights' points",
      })
      .option('variant', {
        type: 'string',
        default: 'baseline',
        describe: 'baseline (channel sum) | lin (learned channel weights, needs --lin-weights)',
      })
      .option('lin-weights', { type: 'string', describe: 'LPIPS v0.1 lin checkpoint (e.g. vgg.pth) or a similarity-task checkpoint' })
      .option('weights', { type: 'string', describe: 'torchvision .pth or .safetensors (default: the weight cache)' })
      .option('seed', { type: 'number', describe: 'seeded random weights instead of pretrained ones' })
      .option('normalize', {
        type: 'string',
        default: 'imagenet',
        describe: 'network input: imagenet (mean/std) | lpips (LPIPS shift/scale)',
      })
      .option('size', { type: 'number', describe: 'resize both images to size x size (Pillow bilinear) before comparing' })
      .option('engine', {
        type: 'string',
        default: 'auto',
        describe: `${ENGINE_CHOICES.join(' | ')}: onnx runs the loss network on onnxruntime-node; auto uses it when installed, else tfjs`,
      })
      .conflicts('weights', 'seed') as never,
  handler: async (a) => {
    const cwd = ctx.io.cwd;
    const folders = a.dir0 !== undefined || a.dir1 !== undefined;
    if (folders && (a.a || a.b))
      throw configError(
        'dpl similarity',
        'takes two images or --dir0/--dir1, not both',
        'e.g. dpl similarity a.png b.png, or dpl similarity --dir0 D0 --dir1 D1',
      );
    if (folders && !(a.dir0 && a.dir1)) throw configError('dpl similarity', 'needs both --dir0 and --dir1');
    if (!folders && !(a.a && a.b))
      throw configError('dpl similarity', 'needs two images', 'e.g. dpl similarity a.png b.png (or --dir0 D0 --dir1 D1)');
    if (a.out && !folders) throw configError('--out', 'applies to --dir0/--dir1 only');
    if (a.variant !== 'baseline' && a.variant !== 'lin')
      throw configError(`--variant ${a.variant}`, 'is not a distance variant', 'use baseline or lin');
    if (a.variant === 'lin' && !a['lin-weights'])
      throw configError('--variant lin', 'needs --lin-weights FILE', "pass LPIPS' weights/v0.1/<net>.pth or a similarity-task checkpoint");
    if (a.variant === 'baseline' && a['lin-weights']) throw configError('--lin-weights', 'needs --variant lin');
    if (a.normalize !== 'imagenet' && a.normalize !== 'lpips')
      throw configError(`--normalize ${a.normalize}`, 'is not a normalisation', 'use imagenet or lpips');
    if (a.size !== undefined && !(Number.isInteger(a.size) && a.size >= 1))
      throw configError(`--size ${a.size}`, 'must be a positive integer');
    if (a.seed !== undefined && !(Number.isInteger(a.seed) && a.seed >= 0))
      throw configError(`--seed ${a.seed}`, 'must be an integer >= 0');
    const choice = checkEngineChoice(a.engine, '--engine');

    const backend = await ctx.backend();
    const b = (await ctx.registry()).backbone(a.backbone);
    const lin = a['lin-weights'] ? await readLin(path.resolve(cwd, a['lin-weights']), b) : null;
    const points = b.resolvePoints(a.points ?? (lin ? lin.points : 'paper')).map((p) => p.name);
    const pairs = folders
      ? pairNames(path.resolve(cwd, a.dir0!), path.resolve(cwd, a.dir1!)).map((n) => ({
          name: n,
          a: path.resolve(cwd, a.dir0!, n),
          b: path.resolve(cwd, a.dir1!, n),
        }))
      : [{ name: path.basename(a.a!), a: path.resolve(cwd, a.a!), b: path.resolve(cwd, a.b!) }];
    for (const p of folders ? [] : pairs)
      for (const f of [p.a, p.b]) if (!fs.existsSync(f)) throw inputError(f, 'does not exist', 'check the path');

    const build = await resolveWeights(b, a.weights && path.resolve(cwd, a.weights), a.seed);
    const extractor: FeatureExtractor = b.build(build);
    const random = extractor.provenance.kind === 'random';
    let distance: PerceptualDistance | null = null;
    let engine: EngineDistance | null = null;
    const results: { name: string; distance: number }[] = [];
    const start = Date.now();
    try {
      distance = new PerceptualDistance({
        extractor,
        points,
        input: { range: '[0,1]', normalize: a.normalize as PerceptualNormalization },
        variant: lin ? 'lin' : 'baseline',
        linWeights: lin?.weights,
        linSource: a['lin-weights'] && path.resolve(cwd, a['lin-weights']),
      });
      engine = await createEngineDistance(choice, distance, {
        weights: build.weights,
        cacheDir: path.join(dplHome(), 'onnx'),
        log: (l) => ctx.io.err(l),
      });
      const progress = folders ? makeProgress(ctx.io) : null;
      progress?.start('similarity', pairs.length);
      try {
        for (const p of pairs) {
          const [x, y] = await readPair(p.a, p.b, a.size);
          try {
            const d = await engine.compute(x, y);
            results.push({ name: p.name, distance: (await d.data())[0] });
            d.dispose();
          } catch (e) {
            // name the pair: the distance's own errors speak of 'images'
            throw isDplError(e) ? new DplError(e.code, `${p.a} vs ${p.b}: ${e.message}`) : e;
          } finally {
            tf.dispose([x, y]);
          }
          progress?.tick(1, { pair: p.name });
        }
      } finally {
        progress?.done();
      }
    } finally {
      await engine?.dispose();
      distance?.dispose();
      extractor.dispose();
    }
    const record = distance!.describe();
    const engineRecord = engine!.describe();
    const on = engineRecord.name === 'onnx' ? 'onnx' : `tfjs-${backend.name}`;
    const seconds = (Date.now() - start) / 1000;
    const randomNote = random
      ? `note: the loss network had RANDOM weights (seed ${(extractor.provenance as { seed: number }).seed}): these are not perceptual distances; pass --weights or run 'dpl weights pull ${b.id}'`
      : null;
    if (folders) {
      const mean = results.reduce((s, r) => s + r.distance, 0) / results.length;
      let out: string | null = null;
      if (a.out) {
        out = path.resolve(cwd, a.out);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, `name,distance\n${results.map((r) => `${r.name},${r.distance}`).join('\n')}\n`);
      }
      if (ctx.args.json)
        return ctx.json({
          pairs: results,
          mean,
          backbone: b.id,
          points,
          variant: record.variant,
          engine: engineRecord,
          randomWeights: random,
          weights: extractor.provenance,
          out,
          seconds,
          record,
        });
      if (randomNote) ctx.io.out(randomNote);
      ctx.io.out(
        `${results.length} pairs, mean distance ${mean} (${b.id} @ ${points.join(',')}, ${record.variant}, ${on}, ${seconds.toFixed(1)} s)`,
      );
      if (out) ctx.io.out(`written to ${out}`);
      else for (const r of results) ctx.io.out(`${r.name}  ${r.distance}`);
      return;
    }
    const d = results[0].distance;
    if (ctx.args.json)
      return ctx.json({
        distance: d,
        a: pairs[0].a,
        b: pairs[0].b,
        backbone: b.id,
        points,
        variant: record.variant,
        engine: engineRecord,
        randomWeights: random,
        weights: extractor.provenance,
        seconds,
        record,
      });
    if (randomNote) ctx.io.out(randomNote);
    ctx.io.out(`${d}`);
    ctx.io.out(
      `(${b.id} @ ${points.join(',')}, ${record.variant}${lin ? ` weights ${record.linWeights?.source}` : ''}, ${a.normalize} input, ${on})`,
    );
  },
});
