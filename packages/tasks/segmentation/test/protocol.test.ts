/**
 * The `paper` preset reproduces what the study's official code did (docs/PROTOCOL.md,
 * "Deviations"); each test pins one of those behaviours, and the `corrected` preset switches it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mulberry32, ParamStore, readNpy, writeNpy, type TaskResult } from '@dpl/core';
import { resolveSegmentationConfig } from '../src/config';
import { evalSample, type RoadTile } from '../src/data/loader';
import { bilinearNoAntialias } from '../src/data/tensor-resize';
import { officialAccumulation, predict } from '../src/evaluate';
import { maskFeatures } from '../src/loss';
import { iterate, type UNetOptions } from '../src/model';
import { segmentationTask } from '../src/task';
import { context, lossNetwork, tmp } from './helpers';
import { referencePython } from '@dpl/core/testkit';

const PY = referencePython().python;
const hasTorch = spawnSync(PY, ['-c', 'import torch, torchvision, numpy'], { encoding: 'utf8' }).status === 0;
if (!hasTorch)
  console.warn(`segmentation protocol: the PyTorch reference tests are skipped: ${PY} cannot import torch, torchvision and numpy`);
const withTorch = hasTorch ? it : it.skip;

const OFFICIAL_KEYS = ['downSlope', 'lossNetworkMode', 'scoreSplit', 'evalResize', 'unetTestBatchNorm', 'metricAccumulation'] as const;

beforeAll(async () => {
  await initBackend('wasm');
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

function randomData(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r());
}

describe('segmentation presets', () => {
  it("'paper' holds what the official code ran, 'corrected' the fixed protocol, 'quick' the corrected one", () => {
    const pick = (preset: string) => {
      const c = resolveSegmentationConfig(preset);
      return Object.fromEntries(OFFICIAL_KEYS.map((k) => [k, c[k]]));
    };
    expect(pick('paper')).toEqual({
      downSlope: 0,
      lossNetworkMode: 'train',
      scoreSplit: 'val',
      evalResize: 'tensor-bilinear',
      unetTestBatchNorm: 'batch',
      metricAccumulation: 'official',
    });
    const corrected = {
      downSlope: 0.2,
      lossNetworkMode: 'eval',
      scoreSplit: 'test',
      evalResize: 'antialiased',
      unetTestBatchNorm: 'running',
      metricAccumulation: 'last',
    };
    expect(pick('corrected')).toEqual(corrected);
    expect(pick('quick')).toEqual(corrected);
    // every other key of 'corrected' is the paper's
    const paper = resolveSegmentationConfig('paper') as unknown as Record<string, unknown>;
    const fixed = resolveSegmentationConfig('corrected') as unknown as Record<string, unknown>;
    const differing = Object.keys(paper).filter((k) => JSON.stringify(paper[k]) !== JSON.stringify(fixed[k]));
    expect(differing.sort()).toEqual([...OFFICIAL_KEYS].sort());
  });
});

describe('evalResize: the official tensor resize', () => {
  withTorch("matches torchvision's resize of a tensor (F.interpolate bilinear, align_corners=False, no antialias) to 1e-5", () => {
    const dir = tmp('dpl-seg-resize-');
    const cases = [
      { h: 150, w: 150, c: 3, oh: 22, ow: 22 },
      { h: 37, w: 53, c: 1, oh: 16, ow: 16 },
      { h: 9, w: 7, c: 3, oh: 16, ow: 16 }, // upsampling: clamped source index at the border
    ];
    cases.forEach((k, i) => fs.writeFileSync(path.join(dir, `in${i}.npy`), writeNpy([k.h, k.w, k.c], randomData(k.h * k.w * k.c, i + 1))));
    const script = `
import sys, numpy as np, torch
import torchvision.transforms.functional as TF
d = sys.argv[1]
for i, (oh, ow) in enumerate([${cases.map((k) => `(${k.oh}, ${k.ow})`).join(', ')}]):
    a = torch.from_numpy(np.load(f'{d}/in{i}.npy')).permute(2, 0, 1)
    r = TF.resize(a, [oh, ow], interpolation=TF.InterpolationMode.BILINEAR)
    f = torch.nn.functional.interpolate(a[None], size=(oh, ow), mode='bilinear', align_corners=False)[0]
    assert torch.equal(r, f), 'torchvision 0.14 resizes tensors without antialiasing'
    np.save(f'{d}/out{i}.npy', r.permute(1, 2, 0).numpy())
`;
    execFileSync(PY, ['-c', script, dir], { stdio: 'pipe' });
    cases.forEach((k, i) => {
      const input = readNpy(fs.readFileSync(path.join(dir, `in${i}.npy`)), 'in').data;
      const ref = readNpy(fs.readFileSync(path.join(dir, `out${i}.npy`)), 'out').data;
      const ours = bilinearNoAntialias(input, k.w, k.h, k.c, k.ow, k.oh);
      expect(ours.length).toBe(ref.length);
      // float32 rounding of the source coordinates (torch computes them in float32); the antialiased
      // filter differs by ~1e-1 on such noise
      expect(maxDiff(ours, ref)).toBeLessThan(1e-5);
    });
  });

  it('differs from the antialiased resize on a detailed tile (the official one samples 2x2 neighbourhoods only)', () => {
    const size = 150;
    const r = mulberry32(4);
    const tile: RoadTile = {
      name: 't',
      width: size,
      height: size,
      rgb: Uint8Array.from({ length: size * size * 3 }, () => Math.floor(r() * 256)),
      mask: Uint8Array.from({ length: size * size }, (_, i) => ((i % size) % 7 < 2 ? 255 : 0)),
    };
    const a = evalSample(tile, 16, 'tensor-bilinear');
    const b = evalSample(tile, 16, 'antialiased');
    // noise averages out under the antialiased filter only
    const spread = (v: Float32Array) => Math.max(...v) - Math.min(...v);
    expect(spread(a.rgb)).toBeGreaterThan(2 * spread(b.rgb));
    expect(maxDiff(a.mask, b.mask)).toBe(1);
  });
});

const UNET: UNetOptions = { widths: [8, 16, 32, 32], downSlope: 0, upSlope: 0 };

function builtUnet(seed: number, o: UNetOptions): ParamStore {
  const store = new ParamStore(seed);
  store.build(() => iterate(store, tf.zeros([1, 32, 32, 3]), 1, false, o));
  // non-trivial running statistics, so batch and running statistics give different outputs
  const r = mulberry32(seed + 1);
  for (const n of store.names().filter((m) => m.includes('running_'))) {
    const v = store.get(n);
    const vals = Float32Array.from({ length: v.size }, () => (n.endsWith('mean') ? (r() - 0.5) * 0.4 : 0.5 + r()));
    tf.tidy(() => v.assign(tf.tensor(vals, v.shape)));
  }
  return store;
}

const samples = (n: number, size: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ({
    size,
    rgb: randomData(size * size * 3, seed + i),
    mask: randomData(size * size, seed + 100 + i).map((v) => (v < 0.2 ? 1 : 0)),
  }));

describe('unetTestBatchNorm and downSlope: the U-Net as the official test script ran it', () => {
  it("'batch' normalises each tile by its own statistics, whatever the batch, and changes no running statistic", async () => {
    const store = builtUnet(3, UNET);
    const tiles = samples(3, 32, 10);
    const running = () =>
      store
        .names()
        .filter((n) => n.includes('running_'))
        .map((n) => Array.from(store.get(n).dataSync()));
    const before = running();
    const together = await predict(store, tiles, 3, 3, UNET, undefined, 'batch');
    const alone = await predict(store, tiles.slice(1, 2), 3, 1, UNET, undefined, 'batch');
    const evalMode = await predict(store, tiles, 3, 3, UNET);
    expect(maxDiff(together.probs[2][1], alone.probs[2][0])).toBe(0);
    expect(maxDiff(together.probs[2][1], evalMode.probs[2][1])).toBeGreaterThan(1e-3);
    expect(running()).toEqual(before);
    store.dispose();
  });

  withTorch(
    "dpl's downSlope 0 is the official code's down block built with its default prelud 0.2 (inverted test: ReLU); 'batch' matches train mode, one image at a time",
    async () => {
      const dir = tmp('dpl-seg-official-unet-');
      const store = builtUnet(7, UNET);
      fs.mkdirSync(path.join(dir, 'params'));
      for (const n of store.names())
        fs.writeFileSync(path.join(dir, 'params', `${n}.npy`), writeNpy(store.get(n).shape, store.get(n).dataSync() as Float32Array));
      const k = 3;
      const x = tf.tensor4d(randomData(2 * 32 * 32 * 3, 5), [2, 32, 32, 3]);
      fs.writeFileSync(path.join(dir, 'x.npy'), writeNpy(x.shape, x.dataSync() as Float32Array));
      fs.writeFileSync(path.join(dir, 'y.npy'), writeNpy([2, 32, 32, 1], new Float32Array(2 * 32 * 32)));
      // the official block code is given the study's slope, 0.2
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...UNET, downSlope: 0.2, k, official: true }));
      execFileSync(PY, [path.join(__dirname, 'torch_unet.py'), dir], { stdio: 'pipe' });
      const ref = (f: string) => readNpy(fs.readFileSync(path.join(dir, 'out', f)), f).data;
      const evalOut = iterate(store, x, k, false, UNET);
      const batchOut = [0, 1].map((j) => iterate(store, tf.slice(x, [j, 0, 0, 0], [1, 32, 32, 3]), k, 'batch', UNET));
      for (let i = 0; i < k; i++) {
        expect(maxDiff(evalOut[i].dataSync(), ref(`eval_${i}.npy`))).toBeLessThan(2e-4);
        const both = tf.concat([batchOut[0][i], batchOut[1][i]], 0);
        expect(maxDiff(both.dataSync(), ref(`batch_${i}.npy`))).toBeLessThan(2e-4);
        both.dispose();
      }
      // and the intended LeakyReLU(0.2) is another network
      const leaky = iterate(store, x, 1, false, { ...UNET, downSlope: 0.2 });
      expect(maxDiff(leaky[0].dataSync(), ref('eval_0.npy'))).toBeGreaterThan(1e-3);
      tf.dispose([...evalOut, ...batchOut.flat(), ...leaky, x]);
      store.dispose();
    },
  );
});

describe('metricAccumulation', () => {
  it("'official' re-adds every earlier step at each of the K iterations, as the official test loop does", () => {
    const perStep = [
      { completeness: 0.5, correctness: 0.4, quality: 0.2 },
      { completeness: 0.6, correctness: 0.5, quality: 0.4 },
      { completeness: 0.7, correctness: 0.6, quality: 0.5 },
    ];
    // the official loop: for k in range(K): lpredicts.append(p_k); for img in lpredicts: results += metrics(img)
    const loop = { completeness: 0, correctness: 0, quality: 0 };
    const lpredicts: typeof perStep = [];
    for (const p of perStep) {
      lpredicts.push(p);
      for (const q of lpredicts) for (const key of Object.keys(loop) as (keyof typeof loop)[]) loop[key] += q[key];
    }
    const official = officialAccumulation(perStep);
    for (const key of Object.keys(loop) as (keyof typeof loop)[]) expect(official[key]).toBeCloseTo(loop[key], 12);
    expect(official.quality).toBeCloseTo(3 * 0.2 + 2 * 0.4 + 0.5, 12); // 1.9: not a mean, can exceed 1
    expect(officialAccumulation(perStep.slice(0, 1))).toEqual(perStep[0]); // K = 1: the same as 'last'
  });
});

describe('lossNetworkMode', () => {
  it("'train' normalises the loss network's BatchNorms by the batch: an image's features change with its batch-mates ('eval' does not)", () => {
    const net = lossNetwork('efficientnet_b0', 1);
    try {
      const masks = tf.tensor4d(
        randomData(3 * 32 * 32, 8).map((v) => (v < 0.3 ? 1 : 0)),
        [3, 32, 32, 1],
      );
      const first = (mode: 'eval' | 'train', batch: tf.Tensor4D) =>
        tf.tidy(() => tf.slice(maskFeatures(batch, { net, points: ['stage1'], mode })[0], [0, 0, 0, 0], [1, -1, -1, -1]).dataSync());
      const small = tf.slice(masks, [0, 0, 0, 0], [2, -1, -1, -1]);
      expect(maxDiff(first('eval', masks), first('eval', small))).toBeLessThan(1e-6);
      expect(maxDiff(first('train', masks), first('train', small))).toBeGreaterThan(1e-3);
      tf.dispose([masks, small]);
    } finally {
      net.dispose();
    }
  });
});

describe('the paper preset at the paper sizes', () => {
  // squeezenet1_1 (no BatchNorm) keeps this cheap; train mode's effect is pinned above
  it('trains two steps on 224 crops (batch 8, loss network in train mode) and scores the validation tiles at 224 as the official code', async () => {
    const net = lossNetwork('squeezenet1_1', 0);
    try {
      const ctx = context(net, {
        points: ['fire2'],
        preset: 'paper',
        overrides: { maxSteps: 2, syntheticTrain: 8, syntheticValid: 2, syntheticTest: 1, samples: 0 },
      });
      // the frozen convs cache their backward kernels on the first backward pass: do it before counting
      const g = tf.grad((m: tf.Tensor) => tf.sum(maskFeatures(m as tf.Tensor4D, { net, points: ['fire2'], mode: 'train' })[0]));
      tf.tidy(() => g(tf.ones([2, 32, 32, 1])));
      const before = tf.memory().numTensors;
      const cpu0 = process.cpuUsage();
      const r: TaskResult = await segmentationTask.run(ctx);
      const cpu = process.cpuUsage(cpu0);
      console.log(`segmentation paper preset, 2 steps of 8 at 224 px: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);
      expect(tf.memory().numTensors).toBe(before);
      const d = r.detail as {
        training: { steps: number };
        data: { scored: string; tiles: Record<string, number> };
        protocol: Record<string, unknown>;
        perImage: { name: string }[];
        model: { downSlope: number };
        loss: { perceptual: { lossNetworkMode: string } };
      };
      expect(d.training.steps).toBe(2);
      expect(d.data.scored).toBe('valid');
      expect(d.data.tiles).toEqual({ train: 8, valid: 2, test: 0 });
      expect(r.splits?.valid.tiles).toBe(2);
      expect(r.splits?.test).toBeUndefined();
      // the scored tiles are the validation split's (the synthetic layout names tiles <split>-NNNN)
      expect(d.perImage.map((p) => p.name)).toEqual(['valid-0000', 'valid-0001']);
      expect(d.protocol).toEqual({
        scoreSplit: 'val',
        evalResize: 'tensor-bilinear',
        unetTestBatchNorm: 'batch',
        metricAccumulation: 'official',
        lossNetworkMode: 'train',
        downSlope: 0,
      });
      expect(d.loss.perceptual.lossNetworkMode).toBe('train');
      expect(Number.isFinite(r.metrics.quality)).toBe(true);
      expect(r.metrics.quality_last_step).toBeGreaterThanOrEqual(0);
      expect(r.metrics.quality_last_step).toBeLessThanOrEqual(1);
      expect(ctx.config).toMatchObject({ cropSize: 224, imageSize: 224, batchSize: 8, kTrain: 1, kTest: 3 });
    } finally {
      net.dispose();
    }
  }, 600_000);
});
