import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import {
  initBackend,
  initialValues,
  LPIPS_POINTS,
  randomStateDict,
  readSafetensors,
  writeSafetensors,
  type FeatureExtractor,
  type StateDict,
} from '@dpl/core';
import { generateSyntheticBapps } from '../src/bapps/synthetic';
import { similarityTask } from '../src/task';
import { context, readCsv, squeezenet, tmp } from './helpers';

let net: FeatureExtractor;
let root: string;

beforeAll(async () => {
  await initBackend('wasm');
  net = squeezenet(0);
  root = tmp('dpl-sim-train-');
  await generateSyntheticBapps(root, { seed: 11, counts: { val: 3, train: 4, jnd: 3 } });
});
afterAll(() => net.dispose());

const distances = (r: { detail?: Record<string, unknown> }) => readCsv((r.detail!.files as Record<string, string>).distances2afc);

describe('trained variants (squeezenet1_1, random weights, wasm)', () => {
  const points = ['relu1', 'fire2', 'fire5', 'fire9'];
  const channels = [64, 128, 256, 512];

  it('lin: trains, keeps the channel weights >= 0, saves them, and a reload gives identical distances', async () => {
    const scratchDir = tmp('dpl-sim-lin-');
    const overrides = {
      variant: 'lin',
      epochs: 1,
      decayEpochs: 1,
      batchSize: 4,
      evalBatchSize: 3,
      maxTrainTriplets: 8,
      writeDistances: true,
      valSplits: ['cnn', 'color'],
    };
    const ctx = context(net, { dataRoot: root, scratchDir, points, overrides });
    const before = tf.memory().numTensors;
    const trained = await similarityTask.run(ctx);
    expect(tf.memory().numTensors).toBe(before);
    expect(trained.detail!.training).toMatchObject({ triplets: 8, steps: 4, epochs: 2 });
    expect(ctx.progress.starts[0]).toEqual({ label: 'similarity: training lin', total: 4 });
    const file = (trained.detail!.files as Record<string, string>).checkpoint;
    expect(file).toBe(path.join(scratchDir, 'similarity-lin.safetensors'));
    const sd = await readSafetensors(file);
    expect([...sd.keys()].filter((k) => k.startsWith('lin.')).sort()).toEqual(points.map((p) => `lin.${p}.weight`).sort());
    expect(sd.get('rank.model.0.weight')!.shape).toEqual([1, 1, 5, 32]);
    points.forEach((p, i) => {
      const w = sd.get(`lin.${p}.weight`)!.data;
      expect(w).toHaveLength(channels[i]);
      expect(Math.min(...w)).toBeGreaterThanOrEqual(0);
      // training moved them away from the (clamped) initial values
      const init = initialValues(0, `lin.${p}.weight`, [channels[i]], { kind: 'uniform', bound: 1 / Math.sqrt(channels[i]) }).map((v) =>
        Math.max(0, v),
      );
      expect(Array.from(w)).not.toEqual(Array.from(init));
    });
    const reloaded = await similarityTask.run(context(net, { dataRoot: root, points, overrides: { ...overrides, linWeights: file } }));
    expect(reloaded.detail!.training).toBeNull();
    expect(distances(reloaded)).toEqual(distances(trained));
    expect(reloaded.metrics).toEqual(trained.metrics);
  });

  it("lin: LPIPS' checkpoint layout gives the same distances as the same weights in ours", async () => {
    const table = LPIPS_POINTS.squeezenet1_1;
    const ours: StateDict = new Map();
    const lpips: StateDict = new Map();
    table.points.forEach((p, i) => {
      const c = table.channels[i];
      const data = Float32Array.from({ length: c }, (_, k) => ((k * 7919 + i * 104729) % 1000) / 1000);
      ours.set(`lin.${p}.weight`, { dtype: 'float32', shape: [c], data });
      lpips.set(`lin${i}.model.1.weight`, { dtype: 'float32', shape: [1, c, 1, 1], data });
    });
    const dir = tmp('dpl-sim-lpips-');
    const [fo, fl] = [path.join(dir, 'ours.safetensors'), path.join(dir, 'squeeze.safetensors')];
    await writeSafetensors(fo, ours);
    await writeSafetensors(fl, lpips);
    const run = (file: string) =>
      similarityTask.run(
        context(net, {
          dataRoot: root,
          points: [...table.points],
          overrides: { variant: 'lin', linWeights: file, writeDistances: true, valSplits: ['traditional'], jndSplits: [] },
        }),
      );
    const [a, b] = [await run(fo), await run(fl)];
    expect(distances(b)).toEqual(distances(a));
    expect((b.detail!.distance as { variant: string; linWeights: { source: string } }).linWeights.source).toBe(fl);
    // the LPIPS file fits only LPIPS' own points
    await expect(
      similarityTask.run(context(net, { dataRoot: root, points, overrides: { variant: 'lin', linWeights: fl } })),
    ).rejects.toThrow(
      /holds LPIPS weights for squeezenet1_1 at relu1, fire3, fire5, fire6, fire7, fire8, fire9[\s\S]*--points relu1,fire3/,
    );
  });

  it('tune: one step moves the network weights by about lr; the checkpoint reloads to identical distances', async () => {
    const scratchDir = tmp('dpl-sim-tune-');
    const overrides = {
      variant: 'tune',
      epochs: 1,
      batchSize: 4,
      evalBatchSize: 2,
      maxTrainTriplets: 4,
      writeDistances: true,
      valSplits: ['superres'],
      jndSplits: [],
    };
    const pts = ['relu1', 'fire2'];
    const before = tf.memory().numTensors;
    const trained = await similarityTask.run(context(net, { dataRoot: root, scratchDir, points: pts, overrides }));
    expect(tf.memory().numTensors).toBe(before);
    expect(trained.detail!.training).toMatchObject({ steps: 1, triplets: 4 });
    const sd = await readSafetensors(path.join(scratchDir, 'similarity-tune.safetensors'));
    // the loss network's own (random, seed 0) conv1 weights, OIHW -> HWIO, moved by the step
    const orig = randomStateDict(net.backbone.graph(), 0).get('features.0.weight')!;
    const tuned = sd.get('net.features.0.weight')!;
    expect(tuned.shape).toEqual([3, 3, 3, 64]);
    const [o, i, kh, kw] = orig.shape;
    let maxDelta = 0;
    for (let a = 0; a < o; a++)
      for (let b = 0; b < i; b++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            maxDelta = Math.max(
              maxDelta,
              Math.abs(tuned.data[((y * kw + x) * i + b) * o + a] - orig.data[((a * i + b) * kh + y) * kw + x]),
            );
          }
    expect(maxDelta).toBeGreaterThan(1e-5);
    expect(maxDelta).toBeLessThan(0.01); // one Adam step moves a weight by about lr = 1e-3
    // fire9's weights are past the deepest point: not part of the model
    expect(sd.has('net.features.12.expand3x3.weight')).toBe(false);
    const reloaded = await similarityTask.run(
      context(net, {
        dataRoot: root,
        points: pts,
        overrides: { ...overrides, linWeights: path.join(scratchDir, 'similarity-tune.safetensors') },
      }),
    );
    expect(distances(reloaded)).toEqual(distances(trained));
  });

  it('tune: a batch in micro-batches has the loss of the whole batch (each part weighted by its share)', async () => {
    const overrides = { variant: 'tune', epochs: 1, batchSize: 4, maxTrainTriplets: 4, dropout: 0, valSplits: ['color'], jndSplits: [] };
    const loss = async (evalBatchSize: number) =>
      (
        (await similarityTask.run(context(net, { dataRoot: root, points: ['relu1'], overrides: { ...overrides, evalBatchSize } }))).detail!
          .training as { finalLoss: number }
      ).finalLoss;
    const [whole, parts] = [await loss(4), await loss(3)];
    expect(whole).toBeGreaterThan(0);
    expect(Math.abs(parts - whole)).toBeLessThan(1e-6 * whole);
  });

  it('scratch: starts from seeded random weights (not the loss network) and records that', async () => {
    const r = await similarityTask.run(
      context(net, {
        dataRoot: root,
        seed: 3,
        points: ['relu1'],
        overrides: {
          variant: 'scratch',
          epochs: 1,
          batchSize: 2,
          evalBatchSize: 2,
          maxTrainTriplets: 2,
          valSplits: ['color'],
          jndSplits: [],
        },
      }),
    );
    expect(r.provenance).toEqual({ kind: 'random', seed: 3 });
    expect(r.metrics['2afc_color']).toBeGreaterThanOrEqual(0);
  });
});
