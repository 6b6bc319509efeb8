/**
 * The optimiser configuration: tfjs' Adam with our defaults against the Adam formula with bias
 * correction, computed by hand in float64; the LPIPS schedule; the non-negativity clamp.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_BETAS_LPIPS, adam, clampNonNegative, constantThenLinearDecay, getLearningRate, setLearningRate } from '../../src/train/optim';
import { useBackend } from '../ops/harness';

beforeAll(() => useBackend('wasm'));

/** Adam (Kingma & Ba, PyTorch's form) on f(w) = (w - c)^2, in float64. */
function handAdam(w0: number, lrs: number[], b1: number, b2: number, eps: number, c = 2): number[] {
  let w = w0,
    m = 0,
    v = 0;
  const out: number[] = [];
  lrs.forEach((lr, i) => {
    const t = i + 1;
    const g = 2 * (w - c);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const mHat = m / (1 - b1 ** t),
      vHat = v / (1 - b2 ** t);
    w -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    out.push(w);
  });
  return out;
}

function tfjsAdam(opt: tf.Optimizer, w0: number, lrs: number[], c = 2): number[] {
  const w = tf.variable(tf.scalar(w0));
  const out: number[] = [];
  for (const lr of lrs) {
    setLearningRate(opt, lr);
    opt.minimize(() => tf.square(tf.sub(w, c)) as tf.Scalar);
    out.push(w.dataSync()[0]);
  }
  w.dispose();
  opt.dispose();
  return out;
}

describe('adam()', () => {
  it('defaults to lr 1e-3, betas (0.9, 0.999), eps 1e-8 and matches the Adam formula', () => {
    const opt = adam();
    const cfg = opt.getConfig();
    expect(cfg).toMatchObject({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const lrs = [1e-3, 1e-3, 1e-3];
    const got = tfjsAdam(opt, 0.5, lrs);
    const want = handAdam(0.5, lrs, 0.9, 0.999, 1e-8);
    const diffs = got.map((g, i) => Math.abs(g - want[i]));
    console.log(
      `adam default: tfjs ${got.map((x) => x.toFixed(7))} vs hand ${want.map((x) => x.toFixed(7))}, max |diff| ${Math.max(...diffs).toExponential(2)}`,
    );
    // step 1 moves by lr * g/|g| = 1e-3 exactly (bias correction): a wrong beta or a missing correction shows
    expect(Math.abs(got[0] - 0.501)).toBeLessThan(1e-7);
    for (const d of diffs) expect(d).toBeLessThan(2e-7); // float32 w near 0.5: ulp 6e-8
  });

  it("LPIPS' betas (0.5, 0.999) and a changed learning rate", () => {
    // starts next to the minimum of w^2 so the steps overshoot and the gradient changes sign:
    // there the first-moment decay (beta1) matters
    const lrs = [1e-2, 5e-3, 1e-2, 2.5e-3, 1e-2];
    const got = tfjsAdam(adam({ lr: 1e-2, betas: ADAM_BETAS_LPIPS }), 0.004, lrs, 0);
    const want = handAdam(0.004, lrs, 0.5, 0.999, 1e-8, 0);
    const diffs = got.map((g, i) => Math.abs(g - want[i]));
    console.log(
      `adam lpips betas: tfjs ${got.map((x) => x.toExponential(4))} vs hand ${want.map((x) => x.toExponential(4))}, max |diff| ${Math.max(...diffs).toExponential(2)}`,
    );
    // tfjs keeps beta2^t in float32, so 1 - beta2^t is off by ~1.3e-5 (relative) at t = 1 and
    // each step by half that: 1e-4 of the step size is the tolerance
    for (const d of diffs) expect(d).toBeLessThan(1e-4 * 1e-2);
    // the default betas would give another trajectory
    const other = handAdam(0.004, lrs, 0.9, 0.999, 1e-8, 0);
    expect(Math.max(...other.map((o, i) => Math.abs(o - got[i])))).toBeGreaterThan(1e-3);
  });

  it('setLearningRate changes the rate tfjs uses', () => {
    const opt = adam();
    setLearningRate(opt, 0.25);
    expect(getLearningRate(opt)).toBe(0.25);
    opt.dispose();
  });
});

describe('constantThenLinearDecay', () => {
  it("follows LPIPS' train.py: 5 epochs at lr, then the rate drops by lr/5 after each later epoch", () => {
    const f = constantThenLinearDecay(1e-3, 5, 5);
    const got = Array.from({ length: 12 }, (_, e) => f(e));
    // LPIPS: epochs 1..10 (1-based); after epoch e > 5 the rate becomes old - lr/5
    const want: number[] = [];
    let lr = 1e-3;
    for (let e = 1; e <= 12; e++) {
      want.push(Math.max(lr, 0));
      if (e > 5) lr -= 1e-3 / 5;
    }
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
    expect(got[9]).toBeCloseTo(2e-4, 12);
    expect(got[10]).toBe(0);
  });
});

describe('clampNonNegative', () => {
  it('zeroes negative entries in place and keeps the rest', () => {
    const v = tf.variable(tf.tensor1d([-1, 0.5, -1e-9, 2]));
    const before = tf.memory().numTensors;
    clampNonNegative([v]);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(v.dataSync())).toEqual([0, 0.5, 0, 2]);
    v.dispose();
  });
});
