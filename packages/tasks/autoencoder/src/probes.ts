/**
 * The evaluation of a code (docs/PROTOCOL.md section 6): MLP probes trained to predict the class from
 * the 64-d code. Each probe is Linear layers with LeakyReLU between them and a linear output of
 * one value per class, trained with MSE against one-hot labels (Adam, batches, early stopping
 * on the validation MSE of a held-out fraction of the probe-training codes, best parameters
 * restored); its score is the argmax accuracy on the test codes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hashSeed, inputError, nn, ParamStore, splitTrainVal, trainLoop, type ProgressReporter } from '@dpl/core';
import { argmaxAccuracy } from '@dpl/metrics';

export const NUM_CLASSES = 10;

export interface ProbeSettings {
  lr: number;
  batchSize: number;
  epochs: number;
  patience: number;
  valFraction: number;
  leakySlope: number;
}

export interface ProbeResult {
  name: string;
  hidden: number[];
  testAccuracy: number;
  bestValMse: number | null;
  epochs: number;
  steps: number;
  stopReason: string;
  seconds: number;
}

/** 'mlp[]' (linear), 'mlp[32]', 'mlp[64,32]', ... */
export const probeName = (hidden: readonly number[]) => `mlp[${hidden.join(',')}]`;

/** The probe's output [N, classes] for codes x [N, D]. */
export function probeForward(
  store: ParamStore,
  x: tf.Tensor2D,
  hidden: readonly number[],
  slope: number,
  classes = NUM_CLASSES,
): tf.Tensor2D {
  return tf.tidy(() => {
    let h = x;
    hidden.forEach((w, i) => {
      h = nn.leakyRelu(nn.linear(store, `fc${i + 1}`, h, { out: w }), slope);
    });
    return nn.linear(store, 'out', h, { out: classes });
  });
}

export interface Codes {
  /** [count, dim] row-major. */
  values: Float32Array;
  labels: Int32Array;
  dim: number;
}

function oneHot(labels: Int32Array, classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32') as tf.Tensor2D);
}

type ProbeBatch = {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
};

/** Trains one probe per entry of `hidden` on `train` and scores each on `test`. */
export async function trainProbes(o: {
  hidden: number[][];
  train: Codes;
  test: Codes;
  settings: ProbeSettings;
  seed: number;
  progress: ProgressReporter;
  signal?: AbortSignal;
}): Promise<ProbeResult[]> {
  const { train, test, settings: s } = o;
  const n = train.labels.length;
  if (n < 2) throw inputError('probe training set', `has ${n} image${n === 1 ? '' : 's'}`, 'use at least 2 labelled images');
  if (test.labels.length === 0) throw inputError('probe test set', 'is empty', 'use at least 1 labelled test image');
  const split = splitTrainVal(n, s.valFraction, hashSeed(o.seed, 'probes'));
  const results: ProbeResult[] = [];
  const [trX, trY, vaX, vaY, teX] = tf.tidy(() => {
    const all = tf.tensor2d(train.values, [n, train.dim]);
    const y = oneHot(train.labels, NUM_CLASSES);
    const ti = tf.tensor1d(split.train, 'int32');
    const vi = tf.tensor1d(split.val, 'int32');
    return [
      tf.gather(all, ti),
      tf.gather(y, ti),
      tf.gather(all, vi),
      tf.gather(y, vi),
      tf.tensor2d(test.values, [test.labels.length, test.dim]),
    ] as tf.Tensor2D[];
  });
  try {
    for (const hidden of o.hidden) {
      const name = probeName(hidden);
      const started = Date.now();
      const store = new ParamStore(hashSeed(o.seed, `probe/${name}`));
      try {
        store.build(() => probeForward(store, tf.zeros([1, train.dim]) as tf.Tensor2D, hidden, s.leakySlope));
        const result = await trainLoop<ProbeBatch>({
          store,
          numExamples: split.train.length,
          batchSize: Math.min(s.batchSize, split.train.length),
          seed: hashSeed(o.seed, `probe/${name}/order`),
          epochs: s.epochs,
          adam: { lr: s.lr },
          makeBatch: (idx) =>
            tf.tidy(() => {
              const i = tf.tensor1d(idx, 'int32');
              return { x: tf.gather(trX, i) as tf.Tensor2D, y: tf.gather(trY, i) as tf.Tensor2D };
            }),
          loss: (b) => tf.mean(tf.squaredDifference(probeForward(store, b.x, hidden, s.leakySlope), b.y)) as tf.Scalar,
          validate: async () => {
            const m = tf.tidy(() => tf.mean(tf.squaredDifference(probeForward(store, vaX, hidden, s.leakySlope), vaY)));
            const v = (await m.data())[0];
            m.dispose();
            return v;
          },
          mode: 'min',
          patience: s.patience,
          progress: o.progress,
          label: `probe ${name}`,
          signal: o.signal,
          abortError: `probe ${name} training`,
        });
        const logits = tf.tidy(() => probeForward(store, teX, hidden, s.leakySlope));
        const acc = argmaxAccuracy(await logits.data(), test.labels, NUM_CLASSES);
        logits.dispose();
        results.push({
          name,
          hidden: [...hidden],
          testAccuracy: acc,
          bestValMse: result.bestMetric,
          epochs: result.epochs,
          steps: result.steps,
          stopReason: result.stopReason,
          seconds: (Date.now() - started) / 1000,
        });
        o.progress.log(`probe ${name}: test accuracy ${acc.toFixed(4)} (${result.epochs} epochs, ${result.stopReason})`);
      } finally {
        store.dispose();
      }
    }
  } finally {
    tf.dispose([trX, trY, vaX, vaY, teX]);
  }
  return results;
}
