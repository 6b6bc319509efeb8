import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, readImage, type FeatureExtractor, type TaskResult } from '@dpl/core';
import { PairSource, listImages } from '../src/data/folder';
import { syntheticImage } from '../src/data/synthetic';
import { evaluatePairs } from '../src/evaluate';
import { buildTransformNet } from '../src/model';
import { superResolutionTask } from '../src/task';
import { context, squeezenet, tmp, useWasm, vgg16 } from './helpers';

beforeAll(useWasm);

/** Small enough for a test: 24 px HR (6 px LR), 40 steps of batch 4, two test sets of four images. */
const TINY = {
  hrSize: 24,
  trainImages: 16,
  valImages: 8,
  maxSteps: 40,
  validateEverySteps: 10,
  testSets: ['Set5', 'Set14'],
  syntheticTestImages: 4,
  maxTestImages: 4,
  samples: 1,
};

/** Test-set PSNR of the untrained network (same seed, hence the starting point of training). */
async function untrainedPsnr(result: TaskResult, seed: number): Promise<number> {
  const root = (result.detail!.data as { root: string }).root;
  const store = new ParamStore(seed);
  buildTransformNet(store, 4);
  let sum = 0;
  for (const set of ['Set5', 'Set14']) {
    const files = listImages(path.join(root, 'test', set), set);
    expect(files).toHaveLength(TINY.maxTestImages);
    const pairs = await new PairSource(files, { hrSize: TINY.hrSize, scale: 4, blurRadius: 1 }, 0).getMany(files.map((_, i) => i));
    sum += (await evaluatePairs(store, 4, pairs, 8, 2)).sr.psnr;
  }
  store.dispose();
  return sum / 2;
}

async function quickRun(
  net: FeatureExtractor,
  point: string,
): Promise<{ result: TaskResult; untrained: number; seconds: number; tensorsBefore: number; tensorsAfter: number }> {
  const ctx = context(net, { points: [point], overrides: TINY });
  // a frozen conv builds its rotated kernel on the first backward pass and keeps it (owned by the
  // extractor): warm that up so the count below measures only what the run itself leaves behind
  tf.dispose(
    tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(net.extract(x as tf.Tensor4D, [point]).get(point)!))(tf.zeros([1, 32, 32, 3]))),
  );
  const tensorsBefore = tf.memory().numTensors;
  const t0 = Date.now();
  const result = await superResolutionTask.run(ctx);
  const seconds = (Date.now() - t0) / 1000;
  const tensorsAfter = tf.memory().numTensors;
  const untrained = await untrainedPsnr(result, ctx.seed);
  const m = result.metrics;
  console.log(
    `${net.backbone.id} @ ${point}: ${seconds.toFixed(1)} s, test PSNR ${m.psnr.toFixed(2)} (untrained ${untrained.toFixed(2)}, bicubic ${m.bicubic_psnr.toFixed(2)}), SSIM ${m.ssim.toFixed(3)} (bicubic ${m.bicubic_ssim.toFixed(3)})`,
  );
  return { result, untrained, seconds, tensorsBefore, tensorsAfter };
}

describe('super-resolution task', () => {
  it('refuses several points, and a point the HR images are too small for, before any work', async () => {
    const net = squeezenet();
    const scratch = tmp();
    await expect(superResolutionTask.run(context(net, { points: ['relu1', 'fire2'], scratchDir: scratch }))).rejects.toThrow(
      /exactly ONE point, got 2/,
    );
    const tooDeep = {
      ...net,
      backbone: { ...net.backbone, id: 'big', point: () => ({ minInputSize: 299 }) },
      extract: net.extract.bind(net),
    } as unknown as FeatureExtractor;
    await expect(superResolutionTask.run(context(tooDeep, { points: ['deep'], scratchDir: scratch }))).rejects.toThrow(
      /hrSize'.*32 px is smaller than the 299 px that big needs to reach 'deep'/,
    );
    expect(fs.readdirSync(scratch)).toEqual([]);
    net.dispose();
  });

  for (const [id, point] of [
    ['squeezenet1_1', 'relu1'],
    ['vgg16', 'relu2_2'],
  ] as const) {
    it(`trains on wasm through ${id} @ ${point} (random weights): beats the untrained network, reports the bicubic baseline, leaks no tensor`, async () => {
      const net = id === 'vgg16' ? vgg16(0) : squeezenet(0);
      const { result, untrained, tensorsBefore, tensorsAfter } = await quickRun(net, point);
      net.dispose();
      expect(tf.getBackend()).toBe('wasm');
      expect(result.backend).toBe('wasm');
      expect(result.provenance).toEqual({ kind: 'random', seed: 0 });
      expect(result.headline).toEqual({ metric: 'psnr', higherIsBetter: true });
      expect(Object.keys(result.metrics)).toEqual([
        'psnr',
        'ssim',
        'psnr_shave2',
        'ssim_shave2',
        'bicubic_psnr',
        'bicubic_ssim',
        'bicubic_psnr_shave2',
        'bicubic_ssim_shave2',
      ]);
      for (const v of Object.values(result.metrics)) expect(Number.isFinite(v)).toBe(true);
      expect(Object.keys(result.splits!)).toEqual(['Set5', 'Set14']);
      expect(result.splits!.Set5.images).toBe(4);
      // the headline is the unweighted mean over the test sets
      expect(result.metrics.psnr).toBeCloseTo((result.splits!.Set5.psnr + result.splits!.Set14.psnr) / 2, 10);
      expect(result.metrics.bicubic_psnr).toBeCloseTo((result.splits!.Set5.bicubic_psnr + result.splits!.Set14.bicubic_psnr) / 2, 10);

      // training ran, validated, kept and restored the best checkpoint, and improved on the start
      const training = result.detail!.training as {
        steps: number;
        validations: { step: number; metric: number }[];
        bestStep: number;
        bestValidationPsnr: number;
        checkpoint: string;
        tensorsAfterStep: { min: number; max: number };
        lossFirst10: number;
        lossLast10: number;
      };
      expect(training.steps).toBe(40);
      expect(training.validations.map((v) => v.step)).toEqual([10, 20, 30, 40]);
      expect(training.bestValidationPsnr).toBe(Math.max(...training.validations.map((v) => v.metric)));
      expect(fs.existsSync(training.checkpoint)).toBe(true);
      const side = JSON.parse(fs.readFileSync(`${training.checkpoint}.json`, 'utf8'));
      expect(side).toMatchObject({ step: training.bestStep, metric: training.bestValidationPsnr, config: { point, backbone: id } });
      expect(training.lossLast10).toBeLessThan(training.lossFirst10);
      expect(training.lossLast10).toBeLessThan(0.6 * training.lossFirst10);
      expect(result.metrics.psnr).toBeGreaterThan(untrained + 0.5);

      // no tensor growth across steps, none left behind by the whole run
      expect(training.tensorsAfterStep.max).toBe(training.tensorsAfterStep.min);
      expect(tensorsAfter).toBe(tensorsBefore);

      // one LR | bicubic | SR | HR strip per test set
      const samples = result.detail!.samples as string[];
      expect(samples).toHaveLength(2);
      const png = await readImage(samples[0]);
      expect([png.width, png.height]).toEqual([4 * 24 + 3 * 4, 24]);
    });
  }

  it('runs on an image folder (JPEG train pool, no val folder), and stops cleanly when interrupted', async () => {
    const root = tmp();
    const write = async (file: string, seed: number) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const img = syntheticImage(seed, 30 + (seed % 7), 26);
      await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).toFile(file);
    };
    for (let i = 0; i < 7; i++) await write(path.join(root, 'train', `coco_${i}.jpg`), i);
    for (let i = 0; i < 2; i++) await write(path.join(root, 'test', 'Set5', `img_${i}.png`), 100 + i);
    const net = squeezenet();
    const overrides = { hrSize: 20, trainImages: 5, valImages: 2, maxSteps: 2, validateEverySteps: 2, testSets: ['Set5'], samples: 0 };
    const ctx = context(net, { points: ['relu1'], dataRoot: root, overrides });
    const r = await superResolutionTask.run(ctx);
    expect(r.detail!.data).toMatchObject({ root, synthetic: false, train: 5, val: 2, valSource: 'train', test: { Set5: 2 } });
    expect(r.splits!.Set5.images).toBe(2);
    expect(r.detail!.samples).toEqual([]);
    expect(ctx.progress.starts.map((s) => s.label)).toEqual(['train x4 @ relu1', 'test']);
    expect(ctx.progress.ticks).toBe(2 + 2);

    const stop = new AbortController();
    stop.abort();
    await expect(
      superResolutionTask.run(context(net, { points: ['relu1'], dataRoot: root, overrides, signal: stop.signal })),
    ).rejects.toThrow(/interrupted after 0 steps/);
    net.dispose();
  });
});
