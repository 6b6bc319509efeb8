/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * The task's `engine` key: baseline and lin (given weights) score through onnxruntime with the
 * same distances as tfjs (1e-4 relative) and the same 2AFC / JND metrics; the result records the
 * engine; tune scores its trained network on tfjs and says so.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, loadOnnxRuntime, writeSafetensors, type FeatureExtractor, type StateDict } from '@dpl/core';
import { generateSyntheticBapps } from '../src/bapps/synthetic';
import { similarityTask } from '../src/task';
import { context, readCsv, squeezenet, tmp } from './helpers';

const ort = loadOnnxRuntime();
if (!ort.ok) console.warn(`SKIPPED similarity onnx engine tests: ${ort.reason}`);
const maybe = ort.ok ? it : it.skip;

let net: FeatureExtractor;
let root: string;
const savedHome = process.env.DPL_HOME;

beforeAll(async () => {
  await initBackend('wasm');
  process.env.DPL_HOME = tmp('dpl-sim-home-');
  net = squeezenet(0);
  root = tmp('dpl-sim-engine-data-');
  await generateSyntheticBapps(root, { seed: 5, counts: { val: 3, train: 4, jnd: 4 } });
});
afterAll(() => {
  net.dispose();
  if (savedHome === undefined) delete process.env.DPL_HOME;
  else process.env.DPL_HOME = savedHome;
});

/** Every distance of both CSVs of two runs agrees within 1e-4 relative. */
function sameDistances(a: Record<string, string>, b: Record<string, string>): void {
  for (const key of ['distances2afc', 'distancesJnd']) {
    const ra = readCsv(a[key]);
    const rb = readCsv(b[key]);
    expect(ra.length).toBe(rb.length);
    ra.forEach((row, i) => {
      for (const col of ['d0', 'd1', 'd']) {
        if (row[col] === undefined) continue;
        const [x, y] = [Number(row[col]), Number(rb[i][col])];
        expect({ id: row.id, col, ok: Math.abs(x - y) <= 1e-4 * Math.abs(y) }).toEqual({ id: row.id, col, ok: true });
      }
    });
  }
}

it('rejects an unknown engine naming the key', () => {
  expect(() => similarityTask.resolveConfig('quick', { engine: 'gpu' })).toThrow(
    /config key 'engine': has the value "gpu"[\s\S]*auto, tfjs, onnx/,
  );
  expect(similarityTask.resolveConfig('paper')).toMatchObject({ engine: 'auto' });
});

maybe('baseline: onnx and tfjs give the same distances and metrics; the result records the engine', async () => {
  const run = async (engine: string) => {
    const r = await similarityTask.run(context(net, { dataRoot: root, overrides: { writeDistances: true, engine } }));
    return r;
  };
  const before = tf.memory().numTensors;
  const onnx = await run('onnx');
  const tfjs = await run('tfjs');
  expect(tf.memory().numTensors).toBe(before);
  expect((onnx.detail!.engine as { name: string }).name).toBe('onnx');
  expect(tfjs.detail!.engine).toEqual({ name: 'tfjs', notice: null });
  expect(onnx.metrics).toEqual(tfjs.metrics);
  sameDistances(onnx.detail!.files as Record<string, string>, tfjs.detail!.files as Record<string, string>);
  // auto takes onnx when it loads
  const auto = await similarityTask.run(context(net, { dataRoot: root, overrides: { jndSplits: [], valSplits: ['cnn'] } }));
  expect((auto.detail!.engine as { name: string }).name).toBe('onnx');
});

maybe('lin with given weights scores through onnx too', async () => {
  const points = net.backbone.resolvePoints('paper');
  const sd: StateDict = new Map(
    points.map((p, i) => [
      `lin.${p.name}.weight`,
      { dtype: 'float32' as const, shape: [p.channels], data: Float32Array.from({ length: p.channels }, (_, c) => ((c + i) % 3) / 2) },
    ]),
  );
  const file = path.join(tmp('dpl-sim-lin-'), 'lin.safetensors');
  await writeSafetensors(file, sd);
  const over = { variant: 'lin', linWeights: file, writeDistances: true, jndSplits: ['cnn'] };
  const onnx = await similarityTask.run(context(net, { dataRoot: root, overrides: { ...over, engine: 'onnx' } }));
  const tfjs = await similarityTask.run(context(net, { dataRoot: root, overrides: { ...over, engine: 'tfjs' } }));
  expect((onnx.detail!.engine as { name: string }).name).toBe('onnx');
  expect(onnx.metrics).toEqual(tfjs.metrics);
  sameDistances(onnx.detail!.files as Record<string, string>, tfjs.detail!.files as Record<string, string>);
});

it('tune scores its trained network on tfjs, and says so when onnx was asked for', async () => {
  const ctx = context(net, {
    dataRoot: root,
    points: ['relu1', 'fire2'],
    overrides: {
      variant: 'tune',
      engine: 'onnx',
      valSplits: ['cnn'],
      jndSplits: [],
      trainSplits: ['cnn'],
      maxTrainTriplets: 4,
      batchSize: 4,
    },
  });
  const r = await similarityTask.run(ctx);
  expect(r.detail!.engine).toEqual({ name: 'tfjs', notice: null });
  expect(ctx.progress.logs.some((l) => /^engine: tfjs \(variant tune scores its trained network on tfjs\)$/.test(l))).toBe(true);
});
