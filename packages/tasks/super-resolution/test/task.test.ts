import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, readImage, type FeatureExtractor, type TaskResult } from '@dpl/core';
import type { SuperResolutionConfig } from '../src/config';
import { PairSource, listImages } from '../src/data/folder';
import { syntheticImage } from '../src/data/synthetic';
import { evaluatePairs } from '../src/evaluate';
import { buildTransformNet } from '../src/model';
import { superResolutionTask } from '../src/task';
import { context, squeezenet, tmp, useWasm, vgg16 } from './helpers';

beforeAll(useWasm);

const SLOW = process.env.DPL_SLOW_TESTS === '1';
if (!SLOW) {
  console.warn(
    'super-resolution: the full quick-preset runs (squeezenet1_1 and vgg16, 150 steps each, over a minute of CPU each) and the vgg16 run of the study network are skipped; set DPL_SLOW_TESTS=1 to run them',
  );
}
const slow = SLOW ? it : it.skip;

/** Small enough for a test: 24 px HR (6 px LR), batch 4, two test sets of four images. */
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
async function untrainedPsnr(result: TaskResult, seed: number, cfg: SuperResolutionConfig): Promise<number> {
  const root = (result.detail!.data as { root: string }).root;
  const store = new ParamStore(seed);
  buildTransformNet(store, cfg.scale, cfg.globalResidual);
  let sum = 0;
  for (const set of cfg.testSets) {
    const files = listImages(path.join(root, 'test', set), set);
    expect(files).toHaveLength(cfg.maxTestImages!);
    const pairs = await new PairSource(files, { hrSize: cfg.hrSize, scale: cfg.scale, blurRadius: cfg.blurRadius }, 0).getMany(
      files.map((_, i) => i),
    );
    sum += (await evaluatePairs(store, cfg.scale, pairs, cfg.evalBatchSize, cfg.shave, cfg.globalResidual)).sr.psnr;
  }
  store.dispose();
  return sum / cfg.testSets.length;
}

interface Training {
  steps: number;
  validations: { step: number; metric: number }[];
  bestStep: number;
  bestValidationPsnr: number;
  bicubicValidationPsnr: number;
  checkpoint: string;
  tensorsAfterStep: { min: number; max: number };
  lossFirst10: number;
  lossLast10: number;
  pixelWarmupLossLast10: number | null;
}

async function run(
  net: FeatureExtractor,
  point: string,
  overrides: Record<string, unknown>,
): Promise<{ result: TaskResult; cfg: SuperResolutionConfig; untrained: number; tensorsBefore: number; tensorsAfter: number }> {
  const ctx = context(net, { points: [point], overrides });
  const cfg = ctx.config as unknown as SuperResolutionConfig;
  // a frozen conv builds its rotated kernel on the first backward pass and keeps it (owned by the
  // extractor): warm that up so the count below measures only what the run itself leaves behind
  tf.dispose(
    tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(net.extract(x as tf.Tensor4D, [point]).get(point)!))(tf.zeros([1, 32, 32, 3]))),
  );
  const tensorsBefore = tf.memory().numTensors;
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const result = await superResolutionTask.run(ctx);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (Date.now() - t0) / 1000;
  const tensorsAfter = tf.memory().numTensors;
  const untrained = await untrainedPsnr(result, ctx.seed, cfg);
  const m = result.metrics;
  const t = result.detail!.training as Training;
  console.log(
    `${net.backbone.id} @ ${point}, globalResidual ${cfg.globalResidual}, ${cfg.hrSize} px, ${t.steps} steps, lr ${cfg.lr}: ` +
      `${seconds.toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU (load ${os.loadavg()[0].toFixed(2)}); ` +
      `test PSNR ${m.psnr.toFixed(3)} vs bicubic ${m.bicubic_psnr.toFixed(3)} (${(m.psnr - m.bicubic_psnr).toFixed(3)} dB; untrained ${untrained.toFixed(3)}), ` +
      `SSIM ${m.ssim.toFixed(4)} vs ${m.bicubic_ssim.toFixed(4)}; validation ${t.validations.map((v) => v.metric.toFixed(2)).join(' ')} (bicubic ${t.bicubicValidationPsnr.toFixed(2)})`,
  );
  return { result, cfg, untrained, tensorsBefore, tensorsAfter };
}

/** What every run must show: the result's shape, validation with the best checkpoint kept, no tensor leak. */
function expectWellFormed(r: Awaited<ReturnType<typeof run>>, id: string, point: string, lossFalls = true): Training {
  const { result, cfg, tensorsBefore, tensorsAfter } = r;
  expect(tf.getBackend()).toBe('wasm');
  expect(result.backend).toBe('wasm');
  expect(result.provenance).toEqual({ kind: 'random', seed: 0 });
  expect(result.headline).toEqual({ metric: 'psnr', higherIsBetter: true });
  expect(Object.keys(result.metrics)).toEqual([
    'psnr',
    'ssim',
    'psnr_shave2',
    'ssim_shave2',
    'psnr_official',
    'ssim_official',
    'bicubic_psnr',
    'bicubic_ssim',
    'bicubic_psnr_shave2',
    'bicubic_ssim_shave2',
    'bicubic_psnr_official',
    'bicubic_ssim_official',
  ]);
  for (const v of Object.values(result.metrics)) expect(Number.isFinite(v)).toBe(true);
  expect(Object.keys(result.splits!)).toEqual(cfg.testSets);
  for (const set of cfg.testSets) expect(result.splits![set].images).toBe(cfg.maxTestImages);
  // the headline is the unweighted mean over the test sets
  const mean = (k: string) => cfg.testSets.reduce((s, set) => s + result.splits![set][k], 0) / cfg.testSets.length;
  expect(result.metrics.psnr).toBeCloseTo(mean('psnr'), 10);
  expect(result.metrics.bicubic_psnr).toBeCloseTo(mean('bicubic_psnr'), 10);
  expect(result.detail).toMatchObject({ globalResidual: cfg.globalResidual, pixelWarmupSteps: cfg.pixelWarmupSteps });

  const training = result.detail!.training as Training;
  expect(training.steps).toBe(cfg.maxSteps);
  const every = cfg.validateEverySteps!;
  expect(training.validations.map((v) => v.step)).toEqual(Array.from({ length: cfg.maxSteps! / every }, (_, i) => (i + 1) * every));
  expect(training.bestValidationPsnr).toBe(Math.max(...training.validations.map((v) => v.metric)));
  expect(fs.existsSync(training.checkpoint)).toBe(true);
  const side = JSON.parse(fs.readFileSync(`${training.checkpoint}.json`, 'utf8'));
  expect(side).toMatchObject({ step: training.bestStep, metric: training.bestValidationPsnr, config: { point, backbone: id } });
  if (lossFalls) expect(training.lossLast10).toBeLessThan(training.lossFirst10);

  // no tensor growth across steps, none left behind by the whole run
  expect(training.tensorsAfterStep.max).toBe(training.tensorsAfterStep.min);
  expect(tensorsAfter).toBe(tensorsBefore);
  return training;
}

/** Test PSNR above bicubic's by `margin` dB on average and in every set; the untrained network is bicubic exactly. */
function expectBeatsBicubic(r: Awaited<ReturnType<typeof run>>, training: Training, margin: number): void {
  const m = r.result.metrics;
  expect(r.cfg.globalResidual).toBe('bicubic');
  expect(Math.abs(r.untrained - m.bicubic_psnr)).toBeLessThan(1e-9);
  expect(m.psnr).toBeGreaterThan(m.bicubic_psnr + margin);
  for (const set of r.cfg.testSets) expect(r.result.splits![set].psnr).toBeGreaterThan(r.result.splits![set].bicubic_psnr);
  expect(m.psnr_shave2).toBeGreaterThan(m.bicubic_psnr_shave2);
  expect(m.ssim).toBeGreaterThan(m.bicubic_ssim);
  expect(training.bestValidationPsnr).toBeGreaterThan(training.bicubicValidationPsnr);
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

  it("trains the study's network ('none') on wasm through squeezenet1_1 @ relu1 (random weights): beats the untrained network, leaks no tensor", async () => {
    const net = squeezenet(0);
    const r = await run(net, 'relu1', { ...TINY, globalResidual: 'none', lr: 1e-3 });
    net.dispose();
    const training = expectWellFormed(r, 'squeezenet1_1', 'relu1');
    expect(training.pixelWarmupLossLast10).toBeNull();
    expect(training.lossLast10).toBeLessThan(0.6 * training.lossFirst10);
    expect(r.result.metrics.psnr).toBeGreaterThan(r.untrained + 0.5);

    // one LR | bicubic | SR | HR strip per test set
    const samples = r.result.detail!.samples as string[];
    expect(samples).toHaveLength(2);
    const png = await readImage(samples[0]);
    expect([png.width, png.height]).toEqual([4 * 24 + 3 * 4, 24]);
  });

  // The quick preset's global residual starts the network AT bicubic (untrained PSNR = bicubic's,
  // exactly), so beating bicubic on the (unseen) test images means the feature-loss training improved
  // on it. The points are the first of each network: with random weights the deeper ones are not a
  // usable pixel criterion (see loss.test.ts).
  it('quick preset, shortened to 75 steps: squeezenet1_1 @ relu1 (random weights) beats bicubic on the test images by > 0.2 dB', async () => {
    const net = squeezenet(0);
    const r = await run(net, 'relu1', { maxSteps: 75, testSets: ['Set5', 'Set14'], samples: 0 });
    net.dispose();
    expect(r.cfg).toMatchObject({ globalResidual: 'bicubic', pixelWarmupSteps: 0, hrSize: 32, lr: 3e-3 });
    expectBeatsBicubic(r, expectWellFormed(r, 'squeezenet1_1', 'relu1'), 0.2);
  });

  for (const [id, point] of [
    ['squeezenet1_1', 'relu1'],
    ['vgg16', 'relu1_2'],
  ] as const) {
    slow(
      `the quick preset as it is: ${id} @ ${point} (random weights) beats bicubic on the test images by > 0.3 dB`,
      async () => {
        const net = id === 'vgg16' ? vgg16(0) : squeezenet(0);
        const r = await run(net, point, {});
        net.dispose();
        expectBeatsBicubic(r, expectWellFormed(r, id, point), 0.3);
      },
      900_000,
    );
  }

  slow(
    "trains the study's network ('none') on wasm through vgg16 @ relu2_2 (random weights): beats the untrained network, leaks no tensor",
    async () => {
      const net = vgg16(0);
      const r = await run(net, 'relu2_2', { ...TINY, globalResidual: 'none', lr: 1e-3 });
      net.dispose();
      const training = expectWellFormed(r, 'vgg16', 'relu2_2');
      expect(training.lossLast10).toBeLessThan(0.6 * training.lossFirst10);
      expect(r.result.metrics.psnr).toBeGreaterThan(r.untrained + 0.5);
    },
    900_000,
  );

  it('switches from the pixel warm-up to the feature loss without tripping the leak guard', async () => {
    const net = squeezenet(0);
    const overrides = { ...TINY, hrSize: 20, trainImages: 8, maxSteps: 6, validateEverySteps: 3, pixelWarmupSteps: 3, samples: 0 };
    const r = await run(net, 'relu1', overrides);
    net.dispose();
    // 3 feature-loss steps: too few for the loss to be compared
    const training = expectWellFormed(r, 'squeezenet1_1', 'relu1', false);
    expect(r.result.detail).toMatchObject({ pixelWarmupSteps: 3 });
    // the warm-up's pixel MSE and the feature MSE are reported apart
    expect(training.pixelWarmupLossLast10).toBeGreaterThan(0);
    expect(training.lossFirst10).toBeGreaterThan(0);
    expect(training.pixelWarmupLossLast10).not.toBe(training.lossFirst10);
  });

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
