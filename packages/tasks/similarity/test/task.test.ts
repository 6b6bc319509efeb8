import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readNpy, type FeatureExtractor } from '@dpl/core';
import { TWO_AFC_VAL_SPLITS } from '../src/bapps/layout';
import { generateSyntheticBapps } from '../src/bapps/synthetic';
import { PRESETS } from '../src/config';
import { similarityTask } from '../src/task';
import { context, readCsv, squeezenet, tmp } from './helpers';

let net: FeatureExtractor;
let root: string;
const COUNTS = { val: 3, train: 4, jnd: 4 };

beforeAll(async () => {
  await initBackend('wasm');
  net = squeezenet(0);
  root = tmp('dpl-sim-data-');
  await generateSyntheticBapps(root, { seed: 5, counts: COUNTS });
});
afterAll(() => net.dispose());

describe('similarity config', () => {
  it("has 'paper' with the study's settings and a 'quick' preset", () => {
    expect(PRESETS.map((p) => p.name)).toEqual(['paper', 'quick']);
    expect(similarityTask.resolveConfig('paper')).toMatchObject({
      variant: 'baseline',
      imageSize: 64,
      normalize: 'imagenet',
      valSplits: [...TWO_AFC_VAL_SPLITS],
      jndSplits: ['traditional', 'cnn'],
      trainSplits: ['traditional', 'cnn', 'mix'],
      lr: 1e-3,
      betas: [0.5, 0.999],
      batchSize: 256,
      epochs: 5,
      decayEpochs: 5,
      dropout: 0.5,
      rankHidden: 32,
      maxPerSplit: null,
    });
    expect(similarityTask.resolveConfig('quick', { variant: 'lin', valSplits: 'cnn,color' })).toMatchObject({
      variant: 'lin',
      valSplits: ['cnn', 'color'],
      epochs: 1,
    });
  });

  it.each([
    [{ epoch: 3 }, /config key 'epoch': is not a similarity setting[\s\S]*epochs/],
    [{ variant: 'fancy' }, /config key 'variant': has the value "fancy"[\s\S]*baseline, lin, tune, scratch/],
    [{ valSplits: ['cnn', 'blur'] }, /config key 'valSplits\[1\]': has the value \["cnn","blur"\][\s\S]*values from: /],
    [{ dropout: 1 }, /config key 'dropout': has the value 1[\s\S]*\[0, 1\)/],
    [{ batchSize: 0 }, /config key 'batchSize': has the value 0[\s\S]*integer >= 1/],
    [{ linWeights: 'x.safetensors' }, /linWeights.*variant 'baseline' has no trained weights/],
    [{ variant: 'lin', epochs: 0 }, /variant 'lin'.*epochs \+ decayEpochs is 0/],
  ])('rejects %j naming the key', (overrides, pattern) => {
    expect(() => similarityTask.resolveConfig('quick', overrides)).toThrow(pattern);
  });

  it('rejects an unknown preset', () => {
    expect(() => similarityTask.resolveConfig('huge')).toThrow(/preset 'huge': is not a preset of similarity/);
  });
});

describe('similarity task (squeezenet1_1, random weights, wasm)', () => {
  it('baseline: six 2AFC splits, their mean first, JND mAP, all in [0, 1]; no tensor leaks', async () => {
    const ctx = context(net, { dataRoot: root, overrides: { writeDistances: true } });
    const before = tf.memory().numTensors;
    const r = await similarityTask.run(ctx);
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(r.metrics)).toEqual(['2afc_mean', ...TWO_AFC_VAL_SPLITS.map((s) => `2afc_${s}`), 'jnd_map']);
    for (const v of Object.values(r.metrics)) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    const six = TWO_AFC_VAL_SPLITS.map((s) => r.metrics[`2afc_${s}`]);
    expect(r.metrics['2afc_mean']).toBeCloseTo(six.reduce((a, b) => a + b) / 6, 12);
    expect(r.headline).toEqual({ metric: '2afc_mean', higherIsBetter: true });
    expect(r.provenance).toEqual({ kind: 'random', seed: 0 });
    expect(r.backend).toBe('wasm');
    expect(r.splits!['2afc/val/cnn']).toEqual({ '2afc': r.metrics['2afc_cnn'], triplets: 3, skipped: 0 });
    expect(r.splits!['jnd/val/traditional']).toMatchObject({ pairs: 4 });
    // progress: one scoring phase over every item, ticked to its total
    expect(ctx.progress.starts).toEqual([{ label: 'similarity: scoring', total: 6 * 3 + 2 * 4 }]);
    expect(ctx.progress.ticks).toBe(6 * 3 + 2 * 4);
    // per-triplet distances: every triplet once, scores as the formula gives
    const rows = readCsv((r.detail!.files as Record<string, string>).distances2afc);
    expect(rows).toHaveLength(18);
    for (const row of rows) {
      const [d0, d1, j] = [Number(row.d0), Number(row.d1), Number(row.judge)];
      expect(Number(row.score)).toBe(d0 < d1 ? 1 - j : d1 < d0 ? j : 0.5);
    }
    // a second run leaks nothing either (the first may warm up kernels)
    const again = await similarityTask.run(context(net, { dataRoot: root }));
    expect(again.metrics).toEqual(r.metrics);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('2AFC with p0 identical to the reference scores exactly mean(1 - judge) per split', async () => {
    const data = tmp('dpl-sim-same-');
    fs.cpSync(root, data, { recursive: true });
    for (const s of TWO_AFC_VAL_SPLITS) {
      const dir = path.join(data, '2afc/val', s);
      for (const f of fs.readdirSync(path.join(dir, 'ref'))) fs.copyFileSync(path.join(dir, 'ref', f), path.join(dir, 'p0', f));
    }
    const r = await similarityTask.run(context(net, { dataRoot: data, overrides: { writeDistances: true, jndSplits: [] } }));
    const rows = readCsv((r.detail!.files as Record<string, string>).distances2afc);
    for (const row of rows) {
      expect(Number(row.d0)).toBe(0);
      expect(Number(row.d1)).toBeGreaterThan(0);
    }
    for (const s of TWO_AFC_VAL_SPLITS) {
      const dir = path.join(data, '2afc/val', s, 'judge');
      const judges = fs
        .readdirSync(dir)
        .sort()
        .map((f) => readNpy(fs.readFileSync(path.join(dir, f)), f).data[0]);
      expect(judges).toHaveLength(COUNTS.val);
      let sum = 0;
      for (const j of judges) sum += 1 - j;
      expect(r.metrics[`2afc_${s}`]).toBe(sum / judges.length);
    }
    expect(r.metrics.jnd_map).toBeUndefined();
  });

  it('without a data root, writes the synthetic stand-in to scratch and says so', async () => {
    const ctx = context(net, {
      points: ['fire5'],
      overrides: { valSplits: ['color'], jndSplits: ['cnn'], syntheticVal: 2, syntheticJnd: 2, syntheticTrain: 1 },
    });
    const r = await similarityTask.run(ctx);
    expect(r.detail!.data).toEqual({ kind: 'synthetic', root: path.join(ctx.scratchDir, 'synthetic-bapps') });
    expect(ctx.progress.logs[0]).toMatch(/no data root given: scoring a synthetic stand-in/);
    expect(fs.readdirSync(path.join(ctx.scratchDir, 'synthetic-bapps/2afc/val/color/ref'))).toHaveLength(2);
    expect(Object.keys(r.metrics)).toEqual(['2afc_mean', '2afc_color', 'jnd_map']);
  });

  it('a missing split fails before any work, naming it', async () => {
    const data = tmp('dpl-sim-miss-');
    fs.cpSync(root, data, { recursive: true });
    fs.rmSync(path.join(data, '2afc/val/frameinterp'), { recursive: true });
    const ctx = context(net, { dataRoot: data });
    await expect(similarityTask.run(ctx)).rejects.toThrow(/2afc\/val\/frameinterp[\s\S]*does not exist/);
    expect(ctx.progress.starts).toEqual([]);
  });

  it('a corrupt image stops the run naming it; the rerun resumes without rescoring finished work', async () => {
    const data = tmp('dpl-sim-bad-');
    fs.cpSync(root, data, { recursive: true });
    const bad = path.join(data, '2afc/val/deblur/p1/000001.png');
    const good = fs.readFileSync(bad);
    fs.writeFileSync(bad, 'garbage');
    const scratchDir = tmp('dpl-sim-resume-');
    const opts = { dataRoot: data, scratchDir, overrides: { evalBatchSize: 1 } };
    await expect(similarityTask.run(context(net, opts))).rejects.toThrow(
      new RegExp(`${bad}: is not a readable image[\\s\\S]*3 finished splits and 1 scored items of 2afc/val/deblur are saved`),
    );
    fs.writeFileSync(bad, good);
    const resumed = await similarityTask.run(context(net, opts));
    const scoring = resumed.detail!.scoring as { resumedSplits: string[]; scoredNow: number; items: number };
    expect(scoring.resumedSplits).toEqual(['2afc/val/traditional', '2afc/val/cnn', '2afc/val/superres', '2afc/val/deblur']);
    expect(scoring.items).toBe(26);
    expect(scoring.scoredNow).toBe(26 - 3 * 3 - 1);
    // and the numbers equal a fresh run's
    const fresh = await similarityTask.run(context(net, { dataRoot: data, overrides: { evalBatchSize: 1 } }));
    expect(resumed.metrics).toEqual(fresh.metrics);
  });

  it("badImages 'skip' drops the item, scores the rest and lists what was skipped", async () => {
    const data = tmp('dpl-sim-skip-');
    fs.cpSync(root, data, { recursive: true });
    const bad = path.join(data, '2afc/val/cnn/ref/000002.png');
    fs.writeFileSync(bad, 'garbage');
    const r = await similarityTask.run(
      context(net, { dataRoot: data, overrides: { badImages: 'skip', valSplits: ['cnn'], jndSplits: [] } }),
    );
    expect(r.splits!['2afc/val/cnn']).toMatchObject({ triplets: 2, skipped: 1 });
    expect(r.detail!.skipped).toEqual([{ split: '2afc/val/cnn', id: '000002', reason: expect.stringContaining(bad) }]);
  });
});
