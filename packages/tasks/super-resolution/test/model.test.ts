import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, hashSeed, mulberry32, readNpy, writeNpy } from '@dpl/core';
import { buildTransformNet, transformNet, upsamplingBlocks } from '../src/model';
import { maxDiff, referenceUnavailable, runReference, tmp, useWasm } from './helpers';

const noRef = referenceUnavailable(['torch', 'numpy']);
if (noRef) console.warn(`super-resolution model parity tests skipped: ${noRef}`);
const withRef = noRef ? it.skip : it;

beforeAll(useWasm);

const rand = (seed: number, n: number, lo: number, hi: number) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
};

/** A store for `scale` with non-trivial BatchNorm parameters and statistics (fresh ones are 1/0). */
async function perturbedStore(scale: number): Promise<ParamStore> {
  const store = new ParamStore(7);
  buildTransformNet(store, scale);
  const snap = await store.snapshot();
  for (const [name, t] of snap) {
    const s = hashSeed(3, name);
    if (name.endsWith('bn.weight')) t.data = rand(s, t.data.length, 0.5, 1.5);
    else if (name.endsWith('bn.bias')) t.data = rand(s, t.data.length, -0.2, 0.2);
    else if (name.endsWith('running_mean')) t.data = rand(s, t.data.length, -0.1, 0.1);
    else if (name.endsWith('running_var')) t.data = rand(s, t.data.length, 0.5, 1.5);
  }
  store.restore(snap);
  return store;
}

describe('transform network', () => {
  it('has two upsampling blocks for x4 and three for x8, and maps N x h x w LR to N x sh x sw in [0, 1]', () => {
    expect(upsamplingBlocks(4)).toBe(2);
    expect(upsamplingBlocks(8)).toBe(3);
    expect(() => upsamplingBlocks(3)).toThrow(/power of two/);
    for (const scale of [4, 8]) {
      const store = new ParamStore(1);
      const names = buildTransformNet(store, scale);
      expect(names.filter((n) => /^up\d\.conv\.weight$/.test(n))).toHaveLength(Math.log2(scale));
      const y = tf.tidy(() => transformNet(store, tf.randomUniform([2, 6, 7, 3], 0, 1, 'float32', 1) as tf.Tensor4D, scale, false));
      expect(y.shape).toEqual([2, 6 * scale, 7 * scale, 3]);
      const [lo, hi] = tf.tidy(() => [tf.min(y).dataSync()[0], tf.max(y).dataSync()[0]]);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      y.dispose();
      store.dispose();
    }
  });

  it('refuses LR images too small for the 9x9 reflect-padded input conv', () => {
    const store = new ParamStore(1);
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    expect(() => transformNet(store, x, 4, false)).toThrow(/at least 5x5/);
    x.dispose();
    store.dispose();
  });

  it("global residual: starts at exactly the bicubic base, is the study's output shifted onto it, and trains", async () => {
    const x = tf.tensor4d(rand(21, 2 * 6 * 6 * 3, 0, 1), [2, 6, 6, 3]);
    const base = tf.tensor4d(rand(22, 2 * 24 * 24 * 3, 0, 1), [2, 24, 24, 3]);

    // fresh: the output BatchNorm's weight is zeroed, so the output is the base, in eval and in train mode
    const fresh = new ParamStore(5);
    buildTransformNet(fresh, 4, 'bicubic');
    expect(
      fresh
        .get('out.bn.weight')
        .dataSync()
        .every((v) => v === 0),
    ).toBe(true);
    for (const training of [false, true]) {
      const y = tf.tidy(() => transformNet(fresh, x, 4, training, base));
      expect(maxDiff(y.dataSync(), base.dataSync()).maxAbs).toBe(0);
      y.dispose();
    }
    // ...and the loss still reaches the zeroed weight (else training could never leave bicubic)
    const { grads, value } = tf.variableGrads(
      () => tf.mean(tf.squaredDifference(transformNet(fresh, x, 4, true, base), tf.onesLike(base))) as tf.Scalar,
      fresh.trainableVariables(),
    );
    const gGamma = grads[fresh.get('out.bn.weight').name].dataSync();
    expect(Math.max(...Array.from(gGamma, Math.abs))).toBeGreaterThan(1e-4);
    tf.dispose([value, ...Object.values(grads)]);
    fresh.dispose();

    // with non-trivial parameters: clip(base + tanh / 2) = clip(base + (study's output) - 1/2)
    const store = await perturbedStore(4);
    const [withBase, study] = tf.tidy(() => [transformNet(store, x, 4, false, base), transformNet(store, x, 4, false)]);
    const expected = tf.tidy(() => tf.clipByValue(tf.add(base, tf.sub(study, 0.5)), 0, 1));
    const d = maxDiff(withBase.dataSync(), expected.dataSync());
    expect(d.maxAbs).toBeLessThan(1e-6);
    const clipped = tf.tidy(() => tf.sum(tf.logicalOr(tf.equal(withBase, 0), tf.equal(withBase, 1))).dataSync()[0]);
    expect(clipped).toBeGreaterThan(0); // the clip is exercised, not vacuous
    const wrong = tf.zeros([2, 20, 20, 3]) as tf.Tensor4D;
    expect(() => transformNet(store, x, 4, false, wrong)).toThrow(/bicubic base.*\[2, 24, 24, 3\]/);
    tf.dispose([withBase, study, expected, x, base, wrong]);
    store.dispose();
  });

  describe('parity with an independent PyTorch model', () => {
    interface Case {
      scale: number;
      store: ParamStore;
      dir: string;
      x: tf.Tensor4D;
      target: tf.Tensor4D;
      names: string[];
    }
    const cases: Case[] = [];

    beforeAll(async () => {
      if (noRef) return;
      for (const scale of [4, 8]) {
        const store = await perturbedStore(scale);
        const dir = tmp('dpl-sr-net-');
        const snap = await store.snapshot();
        for (const [name, t] of snap) fs.writeFileSync(path.join(dir, `${name}.npy`), writeNpy(t.shape, t.data));
        const lrSide = scale === 4 ? 6 : 5;
        const hr = lrSide * scale;
        const x = tf.tensor4d(rand(11, 2 * lrSide * lrSide * 3, 0, 1), [2, lrSide, lrSide, 3]);
        const target = tf.tensor4d(rand(12, 2 * hr * hr * 3, 0, 1), [2, hr, hr, 3]);
        fs.writeFileSync(path.join(dir, 'x.npy'), writeNpy(x.shape, x.dataSync() as Float32Array));
        fs.writeFileSync(path.join(dir, 'target.npy'), writeNpy(target.shape, target.dataSync() as Float32Array));
        fs.writeFileSync(path.join(dir, 'net.json'), JSON.stringify({ scale, params: [...snap.keys()] }));
        cases.push({ scale, store, dir, x, target, names: [...snap.keys()] });
      }
      runReference(
        'net',
        cases.map((c) => c.dir),
      );
    });

    afterAll(() => {
      for (const c of cases) {
        tf.dispose([c.x, c.target]);
        c.store.dispose();
      }
    });

    for (const scale of [4, 8]) {
      withRef(`x${scale}: same parameter count, eval and train outputs, gradients and running statistics`, () => {
        const { store, dir, x, target } = cases.find((c) => c.scale === scale)!;
        const ref = (f: string) => readNpy(fs.readFileSync(path.join(dir, f)), f).data;

        expect(store.count()).toBe(JSON.parse(fs.readFileSync(path.join(dir, 'count.json'), 'utf8')).trainable);

        const yEval = tf.tidy(() => transformNet(store, x, scale, false));
        const dEval = maxDiff(yEval.dataSync(), ref('eval.npy'));
        expect(dEval.maxAbs).toBeLessThan(1e-4);

        const vars = store.trainableVariables();
        let yTrain: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const y = transformNet(store, x, scale, true);
          yTrain = tf.keep(y.clone());
          return tf.mean(tf.squaredDifference(y, target)) as tf.Scalar;
        }, vars);
        const dTrain = maxDiff(yTrain!.dataSync(), ref('train.npy'));
        expect(dTrain.maxAbs).toBeLessThan(1e-4);

        // Conv biases feeding train-mode BatchNorm get an exactly-zero gradient in theory (the batch
        // mean removes them): both sides give rounding noise there, so each error is taken relative
        // to the largest gradient of its layer's weight when that is larger than its own.
        let worstGrad = 0;
        const diffs = new Map<string, { maxAbs: number; maxRef: number }>();
        for (const v of vars) diffs.set(store.nameOf(v)!, maxDiff(grads[v.name].dataSync(), ref(`grad_${store.nameOf(v)!}.npy`)));
        for (const [name, d] of diffs) {
          const scaleRef = Math.max(d.maxRef, diffs.get(name.replace(/\.bias$/, '.weight'))!.maxRef);
          worstGrad = Math.max(worstGrad, d.maxAbs / scaleRef);
        }
        expect(worstGrad).toBeLessThan(1e-3);
        let worstStat = 0;
        for (const name of store.names().filter((n) => n.includes('running_'))) {
          worstStat = Math.max(worstStat, maxDiff(store.get(name).dataSync(), ref(`rm_${name}.npy`)).maxAbs);
        }
        expect(worstStat).toBeLessThan(1e-4);
        console.log(
          `x${scale} parity vs torch: eval max abs ${dEval.maxAbs.toExponential(2)}, train ${dTrain.maxAbs.toExponential(2)}, worst gradient rel ${worstGrad.toExponential(2)}, running stats ${worstStat.toExponential(2)}`,
        );
        tf.dispose([yEval, yTrain!, value, ...Object.values(grads)]);
      });
    }
  });
});
