import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mulberry32, ParamStore, readNpy, writeNpy } from '@dpl/core';
import { iterativeLoss } from '../src/loss';
import { iterate, stepWeight, unetLogits, type UNetOptions } from '../src/model';
import { tmp } from './helpers';
import { referencePython } from '@dpl/core/testkit';

const PY = referencePython().python;
const hasTorch = spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn(`segmentation model parity test skipped: ${PY} cannot import torch and numpy`);
const withTorch = hasTorch ? it : it.skip;

const OPTS: UNetOptions = { widths: [8, 16, 32, 32], downSlope: 0.2, upSlope: 0 };

function randomTensor(shape: number[], seed: number, binary = false): tf.Tensor4D {
  const r = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = binary ? (r() < 0.2 ? 1 : 0) : r();
  return tf.tensor4d(d, shape as [number, number, number, number]);
}

function built(seed = 3, size = 32): ParamStore {
  const store = new ParamStore(seed);
  store.build(() => iterate(store, tf.zeros([1, size, size, 3]), 1, false, OPTS));
  return store;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('iterative U-Net', () => {
  it('has the reference layout: 4x4 stride-2 blocks, widths 8/16/32/32 mirrored, no conv bias, a BatchNorm per block', () => {
    const store = built();
    const shapes = Object.fromEntries(store.names().map((n) => [n, store.get(n).shape]));
    expect(shapes['down1.conv.weight']).toEqual([4, 4, 4, 8]);
    expect(shapes['down2.conv.weight']).toEqual([4, 4, 8, 16]);
    expect(shapes['down3.conv.weight']).toEqual([4, 4, 16, 32]);
    expect(shapes['down4.conv.weight']).toEqual([4, 4, 32, 32]);
    // transposed convs: [kh, kw, out, in]; inputs are the skip concatenations
    expect(shapes['up1.tconv.weight']).toEqual([4, 4, 32, 32]);
    expect(shapes['up2.tconv.weight']).toEqual([4, 4, 16, 64]);
    expect(shapes['up3.tconv.weight']).toEqual([4, 4, 8, 32]);
    expect(shapes['up4.tconv.weight']).toEqual([4, 4, 1, 16]);
    expect(store.names().filter((n) => n.endsWith('.bias') && !n.includes('.bn.'))).toEqual([]);
    expect(store.names().filter((n) => n.endsWith('.bn.running_var'))).toHaveLength(8);
    // 16*(4*8 + 8*16 + 16*32 + 32*32 + 32*32 + 64*16 + 32*8 + 16*1) + 2*(8+16+32+32+32+16+8+1)
    expect(store.count()).toBe(16 * (32 + 128 + 512 + 1024 + 1024 + 1024 + 256 + 16) + 2 * 145);
    store.dispose();
  });

  it('maps [N, H, W, 4] to logits [N, H, W, 1] and iterates K steps from an all-zero prediction', () => {
    const store = built();
    const x = randomTensor([2, 32, 32, 3], 1);
    const before = tf.memory().numTensors;
    const outs = tf.tidy(() => iterate(store, x, 3, false, OPTS));
    // inside tidy, only the K outputs survive (eval mode: no statistics move)
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(outs.map((t) => t.shape)).toEqual([
      [2, 32, 32, 1],
      [2, 32, 32, 1],
      [2, 32, 32, 1],
    ]);
    const [d0, d1, d01] = tf.tidy(() => {
      const first = unetLogits(store, tf.concat([x, tf.zeros([2, 32, 32, 1])], 3), false, OPTS);
      const second = unetLogits(store, tf.concat([x, tf.sigmoid(outs[0])], 3), false, OPTS);
      const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b)));
      return tf.stack([maxDiff(first, outs[0]), maxDiff(second, outs[1]), maxDiff(outs[0], outs[1])]).dataSync();
    });
    expect(d0).toBe(0);
    expect(d1).toBe(0);
    expect(d01).toBeGreaterThan(1e-4);
    tf.dispose([...outs, x]);
    store.dispose();
  });

  it('weights training step i of K by (i+1) / (K(K+1)/2)', () => {
    expect([0, 1, 2].map((i) => stepWeight(i, 3))).toEqual([1 / 6, 2 / 6, 3 / 6]);
    for (let k = 1; k <= 6; k++) expect(Array.from({ length: k }, (_, i) => stepWeight(i, k)).reduce((a, b) => a + b)).toBeCloseTo(1, 12);
  });

  withTorch(
    'matches PyTorch (float64) in eval and training mode: K=3 logits, loss, gradients and BatchNorm running statistics',
    async () => {
      const dir = tmp('dpl-seg-parity-');
      const store = built(7);
      // non-trivial BatchNorm state so eval mode differs from a fresh network
      const r = mulberry32(99);
      for (const n of store.names()) {
        const v = store.get(n);
        const vals = new Float32Array(v.size);
        if (n.endsWith('running_mean') || n.endsWith('bn.bias')) for (let i = 0; i < vals.length; i++) vals[i] = (r() - 0.5) * 0.4;
        else if (n.endsWith('running_var') || n.endsWith('bn.weight')) for (let i = 0; i < vals.length; i++) vals[i] = 0.5 + r();
        else continue;
        tf.tidy(() => v.assign(tf.tensor(vals, v.shape)));
      }
      fs.mkdirSync(path.join(dir, 'params'));
      for (const n of store.names()) {
        const v = store.get(n);
        fs.writeFileSync(path.join(dir, 'params', `${n}.npy`), writeNpy(v.shape, (await v.data()) as Float32Array));
      }
      const k = 3;
      const x = randomTensor([2, 32, 32, 3], 5);
      const y = randomTensor([2, 32, 32, 1], 6, true);
      fs.writeFileSync(path.join(dir, 'x.npy'), writeNpy(x.shape, x.dataSync() as Float32Array));
      fs.writeFileSync(path.join(dir, 'y.npy'), writeNpy(y.shape, y.dataSync() as Float32Array));
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...OPTS, k }));
      execFileSync(PY, [path.join(__dirname, 'torch_unet.py'), dir], { stdio: 'pipe' });
      const ref = (f: string) => readNpy(fs.readFileSync(path.join(dir, 'out', f)), f);
      const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

      const evalOut = iterate(store, x, k, false, OPTS);
      const evalDiffs = evalOut.map((z, i) => maxDiff(z.dataSync() as Float32Array, ref(`eval_${i}.npy`).data));
      tf.dispose(evalOut);

      const vars = store.trainableVariables();
      const { value, grads } = tf.variableGrads(() => iterativeLoss({ logits: iterate(store, x, k, true, OPTS), gt: y, mu: 0 }), vars);
      const lossDiff = Math.abs(value.dataSync()[0] - ref('loss.npy').data[0]);
      let gradRel = 0;
      for (const v of vars) {
        const name = store.nameOf(v)!;
        const g = ref(`grad/${name}.npy`).data;
        gradRel = Math.max(gradRel, maxDiff(grads[v.name].dataSync() as Float32Array, g) / Math.max(maxAbs(g), 1e-6));
      }
      let stateDiff = 0;
      for (const n of store.names().filter((m) => m.includes('running_')))
        stateDiff = Math.max(stateDiff, maxDiff(store.get(n).dataSync() as Float32Array, ref(`state/${n}.npy`).data));
      console.log(
        `U-Net parity vs torch float64: eval logits max|diff| per step ${evalDiffs.map((d) => d.toExponential(2)).join(', ')}; ` +
          `loss |diff| ${lossDiff.toExponential(2)}; gradients max|diff|/max|g| ${gradRel.toExponential(2)}; running stats max|diff| ${stateDiff.toExponential(2)}`,
      );
      expect(Math.max(...evalDiffs)).toBeLessThan(2e-4);
      expect(lossDiff).toBeLessThan(1e-5);
      expect(gradRel).toBeLessThan(1e-3);
      expect(stateDiff).toBeLessThan(1e-4);
      tf.dispose([value, ...Object.values(grads), x, y]);
      store.dispose();
    },
  );
});
