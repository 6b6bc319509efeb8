import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mulberry32, ParamStore } from '@dpl/core';
import { probeForward, probeName, trainProbes, type Codes } from '../src/probes';
import { recorder } from './helpers';

/** n codes of dimension d around 10 well separated class centres. */
function clusters(n: number, d: number, seed: number, noise: number): Codes {
  const r = mulberry32(seed);
  const centres = Array.from({ length: 10 }, (_, k) =>
    Array.from({ length: d }, (_, j) => (j % 10 === k ? 2 : 0) + 0.3 * Math.sin(k * 7 + j)),
  );
  const values = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = Math.floor(r() * 10);
    for (let j = 0; j < d; j++) values[i * d + j] = centres[labels[i]][j] + noise * (2 * r() - 1);
  }
  return { values, labels, dim: d };
}

const SETTINGS = { lr: 1e-2, batchSize: 50, epochs: 20, patience: 5, valFraction: 0.2, leakySlope: 0.01 };

beforeAll(async () => {
  await initBackend('wasm');
});

describe('MLP probes', () => {
  it('have the layers of their hidden list (LeakyReLU between, 10 linear outputs)', () => {
    const store = new ParamStore(0);
    const y = tf.tidy(() => probeForward(store, tf.ones([3, 64]) as tf.Tensor2D, [64, 32], 0.01));
    expect(y.shape).toEqual([3, 10]);
    expect(store.names()).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'out.weight', 'out.bias']);
    expect(store.count()).toBe(64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10);
    y.dispose();
    store.dispose();
    expect([[], [32], [64, 32]].map(probeName)).toEqual(['mlp[]', 'mlp[32]', 'mlp[64,32]']);
  });

  it('learn separable codes (accuracy >= 0.9), not shuffled labels, deterministically and without leaking tensors', async () => {
    const train = clusters(200, 16, 1, 0.8);
    const test = clusters(100, 16, 2, 0.8);
    const before = tf.memory().numTensors;
    const progress = recorder();
    const res = await trainProbes({ hidden: [[], [16]], train, test, settings: SETTINGS, seed: 0, progress });
    expect(tf.memory().numTensors).toBe(before);
    console.log(
      `probes on separable clusters: ${res.map((r) => `${r.name} ${r.testAccuracy} (${r.epochs} epochs, ${r.stopReason})`).join(', ')}`,
    );
    expect(res.map((r) => r.name)).toEqual(['mlp[]', 'mlp[16]']);
    for (const r of res) expect(r.testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(progress.starts.map((s) => s.label)).toEqual(['probe mlp[]', 'probe mlp[16]']);
    const again = await trainProbes({ hidden: [[16]], train, test, settings: SETTINGS, seed: 0, progress: recorder() });
    expect(again[0].testAccuracy).toBe(res[1].testAccuracy);
    expect(again[0].bestValMse).toBe(res[1].bestValMse);
    // labels unrelated to the codes: nothing to learn
    const shuffled = { ...train, labels: Int32Array.from(train.labels, (_, i) => (i * 7) % 10) };
    const chance = await trainProbes({
      hidden: [[]],
      train: shuffled,
      test: { ...test, labels: Int32Array.from(test.labels, (_, i) => (i * 3) % 10) },
      settings: SETTINGS,
      seed: 0,
      progress: recorder(),
    });
    console.log(`probe on shuffled labels: ${chance[0].testAccuracy}`);
    expect(chance[0].testAccuracy).toBeLessThan(0.3);
  });

  it('stop early on a flat validation loss and report it', async () => {
    const train = clusters(100, 8, 3, 0.5);
    const res = await trainProbes({
      hidden: [[]],
      train,
      test: clusters(20, 8, 4, 0.5),
      settings: { ...SETTINGS, lr: 1e-9, epochs: 50, patience: 2 },
      seed: 0,
      progress: recorder(),
    });
    expect(res[0].stopReason).toBe('early-stopped');
    expect(res[0].epochs).toBeLessThan(50);
  });
});
