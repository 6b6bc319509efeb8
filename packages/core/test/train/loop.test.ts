/**
 * trainLoop on wasm with a tiny conv-BN-ReLU-conv model regressing a fixed random "teacher" conv:
 * the loss falls, the tensor count stays flat, a leaking step trips the guard, early stopping
 * stops at the patience, the best checkpoint is restored (its validation metric reproduced
 * exactly), cancellation stops cleanly, and misuse is refused with clear errors.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { ProgressReporter } from '../../src/contracts/task';
import { isDplError } from '../../src/errors';
import { trainLoop, type TrainLoopOptions } from '../../src/train/loop';
import * as nn from '../../src/train/nn';
import { adam, getLearningRate } from '../../src/train/optim';
import { ParamStore, type ParamSnapshot } from '../../src/train/params';
import { randArray, rng, useBackend } from '../ops/harness';

const H = 8,
  N_TRAIN = 64,
  N_VAL = 16,
  PIX = H * H;

/** x in [-1, 1), target = teacher(x): a fixed 3x3 conv followed by tanh. */
function makeData(n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const r = rng(seed);
  const x = randArray(n * PIX, r);
  const k = randArray(9, rng(1234)); // the same teacher for every split
  const y = new Float32Array(n * PIX);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < H; p++) {
      for (let q = 0; q < H; q++) {
        let s = 0;
        for (let a = -1; a <= 1; a++) {
          for (let b = -1; b <= 1; b++) {
            const pp = p + a,
              qq = q + b;
            if (pp >= 0 && pp < H && qq >= 0 && qq < H) s += x[i * PIX + pp * H + qq] * k[(a + 1) * 3 + b + 1];
          }
        }
        y[i * PIX + p * H + q] = Math.tanh(1.5 * s);
      }
    }
  }
  return { x, y };
}

const TRAIN = makeData(N_TRAIN, 1);
const VAL = makeData(N_VAL, 2);

interface Batch extends tf.NamedTensorMap {
  x: tf.Tensor4D;
  y: tf.Tensor4D;
}

function makeBatch(indices: number[], data = TRAIN, yScale = 1): Batch {
  const x = new Float32Array(indices.length * PIX),
    y = new Float32Array(indices.length * PIX);
  indices.forEach((idx, j) => {
    x.set(data.x.subarray(idx * PIX, (idx + 1) * PIX), j * PIX);
    for (let p = 0; p < PIX; p++) y[j * PIX + p] = yScale * data.y[idx * PIX + p];
  });
  return { x: tf.tensor4d(x, [indices.length, H, H, 1]), y: tf.tensor4d(y, [indices.length, H, H, 1]) };
}

function model(store: ParamStore, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const h = tf.relu(nn.batchNorm(store, 'bn1', nn.conv(store, 'c1', x, { out: 8, k: 3, pad: 1 }), training));
    return nn.conv(store, 'c2', h, { out: 1, k: 3, pad: 1 });
  });
}

const mse = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.squaredDifference(a, b)) as tf.Scalar;

function newModel(seed = 42): ParamStore {
  const store = new ParamStore(seed);
  const b = makeBatch([0, 1]);
  store.build(() => model(store, b.x, false));
  tf.dispose(b);
  return store;
}

/** Validation MSE in eval mode against yScale * teacher. */
function validator(store: ParamStore, yScale = 1): () => number {
  return () =>
    tf.tidy(() => {
      const b = makeBatch(
        Array.from({ length: N_VAL }, (_, i) => i),
        VAL,
        yScale,
      );
      return mse(model(store, b.x, false), b.y).dataSync()[0];
    });
}

const lossOf = (store: ParamStore) => (b: Batch) => mse(model(store, b.x, true), b.y);

function recorder() {
  const calls: { start: [string, number | undefined][]; ticks: number; logs: string[]; done: number } = {
    start: [],
    ticks: 0,
    logs: [],
    done: 0,
  };
  const progress: ProgressReporter = {
    start: (label, total) => {
      calls.start.push([label, total]);
    },
    tick: () => {
      calls.ticks++;
    },
    log: (m) => {
      calls.logs.push(m);
    },
    done: () => {
      calls.done++;
    },
  };
  return { calls, progress };
}

async function expectDplError(p: Promise<unknown>, code: string, re: RegExp): Promise<string> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(isDplError(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect((err as Error).message).toMatch(re);
  return (err as Error).message;
}

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dpl-loop-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('trainLoop', () => {
  it('trains the tiny model: the loss falls, the tensor count stays flat, progress is reported', async () => {
    const store = newModel();
    const baseline = tf.memory().numTensors;
    const opt = adam({ lr: 1e-2 });
    const { calls, progress } = recorder();
    const t0 = Date.now();
    const res = await trainLoop({
      store,
      numExamples: N_TRAIN,
      batchSize: 8,
      seed: 7,
      maxSteps: 30,
      optimizer: opt,
      makeBatch: (idx) => makeBatch(idx),
      loss: lossOf(store),
      progress,
      label: 'tiny',
    });
    const ms = Date.now() - t0;
    const losses = res.history.steps.map((s) => s.loss);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5,
      last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    const counts = res.history.steps.map((s) => s.numTensors);
    console.log(
      `tiny model: ${res.steps} steps in ${ms} ms; loss first-5 mean ${first.toFixed(4)} -> last-5 mean ${last.toFixed(4)} (x${(last / first).toFixed(3)}); ` +
        `numTensors ${baseline} before Adam, ${counts[0]} after step 1 (Adam state), ${counts[counts.length - 1]} after step ${res.steps}`,
    );
    expect(res.steps).toBe(30);
    expect(res.epochs).toBe(3); // 8 steps per epoch; the 4th epoch is partial
    expect(res.stopReason).toBe('completed');
    expect(last).toBeLessThan(0.35 * first);
    // Adam holds beta1^t and beta2^t from its construction and creates two moment slots per
    // trainable variable (6 here) in step 1; nothing after that
    expect(counts[0] - baseline).toBe(2 + 2 * store.trainableVariables().length);
    expect(new Set(counts).size).toBe(1);
    expect(calls.start).toEqual([['tiny', 30]]);
    expect(calls.ticks).toBe(30);
    expect(calls.done).toBe(1);
    // BatchNorm running statistics moved (training mode) ...
    expect(Array.from(store.get('bn1.running_mean').dataSync()).some((v) => v !== 0)).toBe(true);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    store.dispose();
  });

  it('throws a DplError naming the growth when a step leaks tensors', async () => {
    const store = newModel();
    const opt = adam();
    const vars = store.trainableVariables();
    const msg = await expectDplError(
      trainLoop({
        store,
        numExamples: N_TRAIN,
        batchSize: 8,
        seed: 7,
        maxSteps: 10,
        makeBatch: (idx) => makeBatch(idx),
        update: (b) => {
          tf.mul(b.x, 2); // created outside any tidy and never disposed
          const cost = opt.minimize(() => lossOf(store)(b), true, vars)!;
          const v = cost.dataSync()[0];
          cost.dispose();
          return v;
        },
      }),
      'E_TENSOR_LEAK',
      /tensor leak: 1 tensors per step \(step 2:/,
    );
    console.log(`leak guard: ${msg.split('\n')[0]}`);
    opt.dispose();
    store.dispose();
  });

  it('stops early at the patience and restores the best parameters (own update, in-memory best)', async () => {
    const store = newModel();
    const opt = adam({ lr: 1e-2 });
    const vars = store.trainableVariables();
    const script = [5, 4, 3, 3.5, 3.2, 3.1, 1, 0.5];
    let calls = 0;
    let atBest: ParamSnapshot | null = null,
      atLast: ParamSnapshot | null = null;
    const res = await trainLoop({
      store,
      numExamples: N_TRAIN,
      batchSize: 8,
      seed: 3,
      epochs: 5,
      patience: 3,
      validateEvery: { steps: 2 },
      makeBatch: (idx) => makeBatch(idx),
      update: (b) => {
        const cost = opt.minimize(() => lossOf(store)(b), true, vars)!;
        const v = cost.dataSync()[0];
        cost.dispose();
        return v;
      },
      validate: async ({ step }) => {
        const m = script[calls++];
        if (m === 3) {
          expect(step).toBe(6);
          atBest = await store.snapshot();
        }
        if (step === 12) atLast = await store.snapshot();
        return m;
      },
    });
    expect(res.stopReason).toBe('early-stopped');
    expect(res.history.validations.map((v) => v.metric)).toEqual([5, 4, 3, 3.5, 3.2, 3.1]);
    expect(res.steps).toBe(12);
    expect(res.bestMetric).toBe(3);
    expect(res.bestStep).toBe(6);
    expect(res.restoredBest).toBe(true);
    const now = await store.snapshot();
    for (const [name, v] of atBest!) expect(now.get(name)!.data).toEqual(v.data);
    // the parameters did move after step 6, so the restore mattered
    expect(atLast!.get('c1.weight')!.data).not.toEqual(atBest!.get('c1.weight')!.data);
    opt.dispose();
    store.dispose();
  });

  it("mode 'max' keeps the highest metric", async () => {
    const store = newModel();
    const script = [0.1, 0.4, 0.3, 0.35, 0.2];
    let i = 0;
    const res = await trainLoop({
      store,
      numExamples: 8,
      batchSize: 4,
      seed: 1,
      epochs: 10,
      patience: 2,
      mode: 'max',
      restoreBest: false,
      makeBatch: (idx) => makeBatch(idx),
      update: () => 0,
      validate: () => script[i++],
    });
    expect(res.bestMetric).toBe(0.4);
    expect(res.bestStep).toBe(4);
    expect(res.epochs).toBe(4);
    expect(res.stopReason).toBe('early-stopped');
    store.dispose();
  });

  it('saves the best checkpoint and restores it from the file: its validation metric is reproduced exactly', async () => {
    const store = newModel(5);
    const opt = adam({ lr: 2e-2 });
    // validation target is half the training target: the metric first falls, then rises
    const validate = validator(store, 0.5);
    const file = path.join(dir, 'best.safetensors');
    const res = await trainLoop({
      store,
      numExamples: N_TRAIN,
      batchSize: 8,
      seed: 11,
      maxSteps: 40,
      optimizer: opt,
      validateEvery: { steps: 2 },
      checkpointPath: file,
      checkpointConfig: { task: 'test' },
      makeBatch: (idx) => makeBatch(idx),
      loss: lossOf(store),
      validate,
    });
    const vals = res.history.validations.map((v) => v.metric);
    console.log(`best checkpoint: validations ${vals.map((v) => v.toFixed(4)).join(' ')}; best ${res.bestMetric} at step ${res.bestStep}`);
    // preconditions: the best was not the last, so restoring changes the parameters
    expect(res.bestStep).not.toBe(res.steps);
    expect(vals[vals.length - 1]).toBeGreaterThan(res.bestMetric! * 1.01);
    expect(res.restoredBest).toBe(true);
    const again = validate();
    console.log(`restored parameters: validation ${again} (best ${res.bestMetric}, last ${vals[vals.length - 1]})`);
    expect(again).toBe(res.bestMetric);
    const side = JSON.parse(await fs.readFile(`${file}.json`, 'utf8'));
    expect(side).toMatchObject({ step: res.bestStep, metric: res.bestMetric, config: { task: 'test' } });
    opt.dispose();
    store.dispose();
  });

  it('stops cleanly when aborted and sets the scheduled learning rate per epoch', async () => {
    const store = newModel();
    const opt = adam();
    const ctl = new AbortController();
    const lrs: number[] = [];
    const res = await trainLoop({
      store,
      numExamples: 16,
      batchSize: 4,
      seed: 2,
      epochs: 10,
      optimizer: opt,
      lrSchedule: (e) => 0.1 * (e + 1),
      makeBatch: (idx, info) => {
        if (info.batchIndex === 0) lrs.push(getLearningRate(opt));
        if (info.step === 9) ctl.abort();
        return makeBatch(idx);
      },
      loss: lossOf(store),
      signal: ctl.signal,
    });
    expect(res.stopReason).toBe('aborted');
    expect(res.steps).toBe(9);
    expect(res.epochs).toBe(2);
    expect(lrs).toEqual([0.1, 0.2, 0.30000000000000004]);
    opt.dispose();
    store.dispose();
  });

  it('with abortError, an abort throws E_ABORTED naming the work and the steps done; adam sets its own optimizer', async () => {
    const store = newModel();
    const ctl = new AbortController();
    const run = trainLoop({
      store,
      numExamples: 16,
      batchSize: 4,
      seed: 2,
      epochs: 10,
      adam: { lr: 0.05 },
      makeBatch: (idx, info) => {
        if (info.step === 3) ctl.abort();
        return makeBatch(idx);
      },
      loss: lossOf(store),
      signal: ctl.signal,
      abortError: 'toy training',
    });
    await expectDplError(run, 'E_ABORTED', /^toy training was interrupted after 3 steps$/);
    // adam: { lr } is adam({ lr }) given as optimizer: the same parameters after the same steps
    const train = async (o: Partial<TrainLoopOptions<Batch>>) => {
      const s = newModel();
      await trainLoop({
        store: s,
        numExamples: 16,
        batchSize: 4,
        seed: 2,
        maxSteps: 5,
        makeBatch: (idx) => makeBatch(idx),
        loss: lossOf(s),
        ...o,
      });
      const snap = await s.snapshot();
      s.dispose();
      return snap;
    };
    const opt = adam({ lr: 0.05 });
    const given = await train({ optimizer: opt });
    opt.dispose();
    const own = await train({ adam: { lr: 0.05 } });
    expect([...own.keys()]).toEqual([...given.keys()]);
    for (const [k, v] of own) expect(Array.from(v.data)).toEqual(Array.from(given.get(k)!.data));
    const both = adam();
    await expectDplError(
      trainLoop({
        store,
        numExamples: 16,
        batchSize: 4,
        seed: 2,
        epochs: 1,
        makeBatch: (idx) => makeBatch(idx),
        loss: lossOf(store),
        optimizer: both,
        adam: { lr: 0.05 },
      }),
      'E_CONFIG',
      /trainLoop adam/,
    );
    both.dispose();
    store.dispose();
  });

  it('refuses misuse: no parameters, parameters created mid-training, loss and update together', async () => {
    const base: TrainLoopOptions<Batch> = {
      store: new ParamStore(1),
      numExamples: 8,
      batchSize: 4,
      seed: 1,
      epochs: 1,
      makeBatch: (idx) => makeBatch(idx),
    };
    await expectDplError(trainLoop({ ...base, loss: lossOf(base.store) }), 'E_CONFIG', /no trainable parameters yet/);
    const store = newModel();
    const grows = (b: Batch) =>
      tf.mul(lossOf(store)(b), tf.reshape(nn.linear(store, 'late', tf.ones([1, 1]) as tf.Tensor2D, { out: 1 }), [])) as tf.Scalar;
    await expectDplError(
      trainLoop({ ...base, store, loss: grows }),
      'E_CONFIG',
      /created parameters during step 1 \(late\.weight, late\.bias\)/,
    );
    await expectDplError(trainLoop({ ...base, store, loss: lossOf(store), update: () => 0 }), 'E_CONFIG', /both given/);
    // a trainable parameter the loss never reaches would shift tfjs' position-keyed Adam slots
    const unused = newModel();
    unused.param('unused', [3], { kind: 'constant', value: 0 });
    await expectDplError(
      trainLoop({ ...base, store: unused, loss: lossOf(unused) }),
      'E_CONFIG',
      /does not depend on parameter\(s\) unused/,
    );
    unused.dispose();
    base.store.dispose();
    store.dispose();
  });
});
