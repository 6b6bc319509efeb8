/**
 * `dpl similarity`: the perceptual distance between two images, or between the same-named images
 * of two folders; with --lpips, exactly the lpips package's metric (docs/LPIPS.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkEngineChoice,
  configError,
  createEngineDistance,
  DplError,
  ENGINE_CHOICES,
  inputError,
  isDplError,
  PerceptualDistance,
  writeHeatmapPng,
  writeNpy,
  type CliCommand,
  type CliHost,
  type EngineDistance,
  type FeatureExtractor,
} from '@dpl/core';
import { stringify } from 'csv-stringify/sync';
import { planSimilarity, type SimilarityArgs } from './options';
import { pairNames, readPair, type Pair } from './pairs';
import { weightsRecord } from './provenance';

const DEFAULT_BATCH = 8;

export const similarityCommand: CliCommand<SimilarityArgs> = {
  command: 'similarity [a] [b]',
  describe: 'perceptual (LPIPS) distance between two images, or between same-named images of two folders',
  builder: (y) =>
    y
      .positional('a', { type: 'string', describe: 'first image (PNG/JPEG in [0,1], or float32 NCHW .npy)' })
      .positional('b', { type: 'string', describe: 'second image' })
      .option('lpips', {
        type: 'boolean',
        describe: "the lpips package's metric: lpips.LPIPS(net, version) (alexnet, lin v0.1, LPIPS scaling by default)",
      })
      .option('net', { type: 'string', choices: ['alex', 'vgg', 'squeeze'], describe: 'with --lpips: the network (default alex)' })
      .option('version', { type: 'string', choices: ['0.1', '0.0'], describe: 'with --lpips: LPIPS version (default 0.1)' })
      .option('lin', { type: 'boolean', describe: 'with --lpips: learned channel weights (default); --no-lin: the baseline channel sum' })
      .option('range', {
        type: 'string',
        choices: ['0,1', '-1,1'],
        describe: 'value range of the inputs: 0,1 (default) or -1,1 (.npy only; write --range=-1,1)',
      })
      .option('map', { type: 'string', describe: 'two images: write the per-pixel distance map (.npy numbers or .png heatmap)' })
      .option('map-overlay', { type: 'boolean', describe: 'with --map x.png: draw the heatmap over the first image' })
      .option('dir0', { type: 'string', describe: 'folder of images (pairs with --dir1 by file name)' })
      .option('dir1', { type: 'string', describe: 'second folder' })
      .option('out', { type: 'string', describe: 'with --dir0/--dir1: write name,distance rows to this CSV' })
      .option('batch', { type: 'number', describe: `with --dir0/--dir1: pairs per batch (default ${DEFAULT_BATCH})` })
      .option('backbone', { type: 'string', describe: 'loss network id (default vgg16)' })
      .option('points', {
        type: 'string',
        describe: "extraction points (names, indices, 'paper' or 'all'); default: paper, or the lin weights' points",
      })
      .option('variant', {
        type: 'string',
        choices: ['baseline', 'lin'],
        describe: 'baseline (channel sum, default) | lin (needs --lin-weights)',
      })
      .option('lin-weights', { type: 'string', describe: 'LPIPS lin checkpoint (e.g. vgg.pth) or a similarity-task checkpoint' })
      .option('weights', { type: 'string', describe: 'torchvision .pth or .safetensors (default: the weight cache)' })
      .option('seed', { type: 'number', describe: 'seeded random weights instead of pretrained ones' })
      .option('normalize', {
        type: 'string',
        choices: ['imagenet', 'lpips', 'signed', 'none'],
        describe: 'network input: imagenet (mean/std, default) | lpips (LPIPS v0.1 shift/scale) | signed ([-1,1], LPIPS v0.0) | none',
      })
      .option('size', { type: 'number', describe: 'resize both images to size x size (Pillow bilinear) before comparing' })
      .option('engine', {
        type: 'string',
        default: 'auto',
        describe: `${ENGINE_CHOICES.join(' | ')}: onnx runs the loss network on onnxruntime-node; auto uses it when installed, else tfjs`,
      })
      .conflicts('weights', 'seed') as never,
  handler: (a, host) => runSimilarityCommand(a, host),
};

interface Result {
  name: string;
  distance: number;
}

async function runSimilarityCommand(a: SimilarityArgs, host: CliHost): Promise<void> {
  const cwd = host.io.cwd;
  const plan = planSimilarity(a, cwd, host.home); // every option checked before any work
  const choice = checkEngineChoice(a.engine ?? 'auto', '--engine');
  const backend = await host.backend();
  const b = (await host.registry()).backbone(plan.backbone);
  const lin = await plan.loadLin(b);
  const points = b.resolvePoints(plan.points ?? (lin ? lin.points : 'paper')).map((p) => p.name);
  const pairs: Pair[] = plan.folders
    ? pairNames(plan.folders.dir0, plan.folders.dir1).map((n) => ({
        name: n,
        a: path.join(plan.folders!.dir0, n),
        b: path.join(plan.folders!.dir1, n),
      }))
    : [plan.pair!];
  const notNpy = plan.range === '[-1,1]' ? pairs.find((p) => !p.a.toLowerCase().endsWith('.npy')) : undefined;
  if (notNpy)
    throw configError(
      '--range -1,1',
      `applies to .npy inputs, and ${notNpy.a} is an image (read in [0,1])`,
      'compare folders of .npy files, or drop --range',
    );
  for (const p of plan.folders ? [] : pairs)
    for (const f of [p.a, p.b]) if (!fs.existsSync(f)) throw inputError(f, 'does not exist', 'check the path');

  const build = await host.resolveWeights(b, plan.weights, a.seed);
  const extractor: FeatureExtractor = b.build(build);
  let distance: PerceptualDistance | null = null;
  let engine: EngineDistance | null = null;
  const results: Result[] = [];
  let mapInfo: { file: string; max: number; shape: number[] } | null = null;
  const start = Date.now();
  let loopStart = start;
  try {
    distance = new PerceptualDistance({
      extractor,
      points,
      input: { range: plan.range, normalize: plan.normalize },
      variant: lin ? 'lin' : 'baseline',
      linWeights: lin?.weights,
      linSource: lin?.source,
    });
    engine = await createEngineDistance(choice, distance, {
      weights: build.weights,
      cacheDir: path.join(host.home, 'onnx'),
      log: (l) => host.io.err(l),
    });
    loopStart = Date.now();
    if (plan.folders) {
      await runFolders(engine, pairs, a.size, plan.batch, results, host);
    } else {
      const p = pairs[0];
      const [x, y] = await readPair(p, a.size);
      try {
        if (plan.map) {
          const maps = await namePair(p, () => engine!.spatialMaps(x, y));
          try {
            results.push({ name: p.name, distance: maps.distances[0] });
            checkFinite(results, p);
            mapInfo = await writeMap(plan.map, maps.combined, plan.mapOverlay ? x : null, plan.range);
          } finally {
            tf.dispose([maps.combined, ...maps.points.values()]);
          }
        } else {
          results.push({ name: p.name, distance: (await namePair(p, () => engine!.distances(x, y)))[0] });
          checkFinite(results, p);
        }
      } finally {
        tf.dispose([x, y]);
      }
    }
  } finally {
    await engine?.dispose();
    distance?.dispose();
    extractor.dispose();
  }
  const record = distance.describe();
  const engineRecord = engine.describe();
  const on = engineRecord.name === 'onnx' ? 'onnx' : `tfjs-${backend.name}`;
  const seconds = (Date.now() - start) / 1000;
  // the pairs alone (reading, network, distance), without building the network and engine
  const pairSeconds = (Date.now() - loopStart) / 1000;
  const weights = weightsRecord(extractor.provenance, b);
  const random = weights.kind === 'random';
  const randomNote = random
    ? `note: the loss network had RANDOM weights (seed ${weights.seed}): these are not perceptual distances; pass --weights or run 'dpl weights pull ${b.id}'`
    : null;
  const common = {
    lpips: plan.lpips,
    backbone: b.id,
    points,
    variant: record.variant,
    linWeights: lin ? { file: lin.source, sha256: lin.sha256, pretrained: lin.pretrained } : null,
    input: record.input,
    engine: engineRecord,
    randomWeights: random,
    weights,
    seconds,
    pairSeconds,
    record,
  };
  const describeLine = `(${plan.lpips ? `LPIPS ${plan.lpips.net} v${plan.lpips.version}${plan.lpips.lin ? '' : ' no-lin'}: ` : ''}${b.id} @ ${points.join(',')}, ${record.variant}${lin ? ` weights ${lin.source}` : ''}, ${plan.normalize} input, ${on})`;
  if (plan.folders) {
    const ds = results.map((r) => r.distance);
    const mean = ds.reduce((s, d) => s + d, 0) / ds.length;
    const std = Math.sqrt(ds.reduce((s, d) => s + (d - mean) ** 2, 0) / ds.length);
    let out: string | null = null;
    if (plan.out) {
      out = plan.out;
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, stringify([['name', 'distance'], ...results.map((r) => [r.name, String(r.distance)])]));
    }
    if (host.jsonOutput) return host.printJson({ pairs: results, mean, std, out, ...common });
    if (randomNote) host.io.out(randomNote);
    host.io.out(`${results.length} pairs, mean distance ${mean}, standard deviation ${std} ${describeLine}`);
    host.io.out(`(${seconds.toFixed(1)} s)`);
    if (out) host.io.out(`written to ${out}`);
    else for (const r of results) host.io.out(`${r.name}  ${r.distance}`);
    return;
  }
  const d = results[0].distance;
  if (host.jsonOutput) return host.printJson({ distance: d, a: pairs[0].a, b: pairs[0].b, map: mapInfo, ...common });
  if (randomNote) host.io.out(randomNote);
  host.io.out(`${d}`);
  host.io.out(describeLine);
  if (mapInfo) host.io.out(`map ${mapInfo.shape.join('x')} written to ${mapInfo.file} (scale 0 to ${mapInfo.max})`);
}

/** Runs `fn`, naming the pair in a DplError (the distance's own errors speak of 'images'). */
async function namePair<T>(p: Pair, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw isDplError(e) ? new DplError(e.code, `${p.a} vs ${p.b}: ${e.message}`, e.hint) : e;
  }
}

/** A NaN or infinite distance is an error naming the pair (NaN weights or inputs upstream). */
function checkFinite(results: Result[], p: Pair): void {
  const r = results[results.length - 1];
  if (!Number.isFinite(r.distance)) {
    throw inputError(
      `${p.a} vs ${p.b}`,
      `the distance is ${r.distance}`,
      'check the loss network and lin weights for NaN or infinite values (dpl weights verify), and the images',
    );
  }
}

/** Folder pairs in batches of same-sized pairs, with a progress bar on stderr. */
async function runFolders(
  engine: EngineDistance,
  pairs: Pair[],
  size: number | undefined,
  batch: number,
  results: Result[],
  host: CliHost,
): Promise<void> {
  const progress = host.progress();
  progress.start('similarity', pairs.length);
  let pending: { p: Pair; x: tf.Tensor4D; y: tf.Tensor4D }[] = [];
  const flush = async () => {
    if (!pending.length) return;
    const group = pending;
    pending = [];
    const xs = tf.concat(group.map((g) => g.x)) as tf.Tensor4D;
    const ys = tf.concat(group.map((g) => g.y)) as tf.Tensor4D;
    tf.dispose(group.flatMap((g) => [g.x, g.y]));
    try {
      const ds = await namePair(
        group.length === 1
          ? group[0].p
          : { name: '', a: `pairs ${group[0].p.name} to ${group[group.length - 1].p.name}`, b: 'their dir1 images' },
        () => engine.distances(xs, ys),
      );
      group.forEach((g, i) => {
        results.push({ name: g.p.name, distance: ds[i] });
        checkFinite(results, g.p);
      });
    } finally {
      tf.dispose([xs, ys]);
    }
    progress.tick(group.length, { pair: group[group.length - 1].p.name });
  };
  try {
    for (const p of pairs) {
      const [x, y] = await readPair(p, size);
      if (pending.length && (pending.length >= batch || pending[0].x.shape.join() !== x.shape.join())) await flush();
      pending.push({ p, x, y });
    }
    await flush();
  } finally {
    tf.dispose(pending.flatMap((g) => [g.x, g.y]));
    progress.done();
  }
}

/** Writes the combined map [1, H, W, 1]: .npy as [1, 1, H, W] float32 (the reference's shape), .png as a heatmap. */
async function writeMap(
  file: string,
  combined: tf.Tensor4D,
  under: tf.Tensor4D | null,
  range: '[0,1]' | '[-1,1]',
): Promise<{ file: string; max: number; shape: number[] }> {
  const [, h, w] = combined.shape;
  const data = (await combined.data()) as Float32Array;
  let max = 0;
  for (const v of data) if (v > max) max = v;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (file.toLowerCase().endsWith('.npy')) {
    fs.writeFileSync(file, writeNpy([1, 1, h, w], data));
  } else {
    let img: Float32Array | undefined;
    if (under) {
      const rgb = tf.tidy(() => {
        const u = range === '[-1,1]' ? tf.div(tf.add(under, 1), 2) : under;
        return u.shape[3] === 1 ? tf.tile(u, [1, 1, 1, 3]) : u.clone();
      });
      img = (await rgb.data()) as Float32Array;
      rgb.dispose();
    }
    await writeHeatmapPng(file, data, w, h, { under: img, max });
  }
  return { file, max, shape: [h, w] };
}
