/**
 * The per-position ops of the modern backbones (ops/gelu.ts, layer-norm.ts, channel-linear.ts,
 * patch-merge.ts): value and input gradient on wasm and cpu against PyTorch in float64 (F.gelu,
 * F.hardsigmoid, F.layer_norm, F.linear, torchvision's _patch_merging_pad). Tolerance:
 * max|ours - torch| <= 1e-5 * max|torch|. GELU and its derivative (the registered wasm and cpu
 * kernels) and the element-wise fallback's normal CDF are also checked element-wise: relative error
 * <= 1e-6 against float64 for |x| <= 5.5.
 */
import * as tf from '@tensorflow/tfjs-core';
import { channelLinear } from '../../src/ops/channel-linear';
import { gelu, geluComposed, hardsigmoid, normalCdf } from '../../src/ops/gelu';
import { layerNorm } from '../../src/ops/layer-norm';
import { patchMerge } from '../../src/ops/patch-merge';
import { type Arr, arr, expectClose, printWorst, rng, runPython, torchAvailable, valueAndGrads, valueOn } from './harness';

const TOL = 1e-5;

type OpName = 'gelu' | 'geluComposed' | 'hardsigmoid' | 'layerNorm' | 'channelLinear' | 'patchMerge';

interface Case {
  op: OpName;
  shape: [number, number, number, number];
  /** channelLinear: output channels. */
  out?: number;
  bias?: boolean;
  eps?: number;
  /** scale of x (GELU's tails, LayerNorm of large offsets). */
  scale?: number;
  offset?: number;
}

const CASES: Case[] = [
  { op: 'gelu', shape: [2, 5, 7, 3], scale: 6 },
  { op: 'gelu', shape: [1, 3, 4, 16], scale: 1 },
  { op: 'geluComposed', shape: [2, 5, 7, 3], scale: 6 }, // the form used on backends without the kernels
  { op: 'hardsigmoid', shape: [2, 5, 7, 3], scale: 5 },
  { op: 'layerNorm', shape: [2, 5, 7, 8], eps: 1e-6 },
  { op: 'layerNorm', shape: [1, 1, 9, 12], eps: 1e-5, scale: 3, offset: 5 }, // a token row, large mean
  { op: 'layerNorm', shape: [1, 2, 2, 4], eps: 0.5 }, // eps large enough to matter
  { op: 'channelLinear', shape: [2, 5, 7, 6], out: 10, bias: true },
  { op: 'channelLinear', shape: [1, 1, 9, 8], out: 3, bias: false },
  { op: 'patchMerge', shape: [2, 6, 8, 3] },
  { op: 'patchMerge', shape: [1, 7, 5, 2] }, // odd H and W: zero-padded bottom and right
  { op: 'patchMerge', shape: [1, 1, 3, 4] },
];

const label = (k: Case) => `${k.op} [${k.shape}]${k.out ? ` -> ${k.out}` : ''}${k.eps ? ` eps ${k.eps}` : ''}`;

interface Data {
  x: Arr;
  w: Arr | null;
  b: Arr | null;
  outShape: number[];
}

function data(k: Case, seed: number): Data {
  const r = rng(seed);
  const x = arr(k.shape, r);
  for (let i = 0; i < x.data.length; i++) x.data[i] = x.data[i] * (k.scale ?? 1) + (k.offset ?? 0);
  const [n, h, w, c] = k.shape;
  let w2: Arr | null = null;
  let b: Arr | null = null;
  let outShape = k.shape as number[];
  if (k.op === 'layerNorm') {
    w2 = arr([c], r);
    b = arr([c], r);
  } else if (k.op === 'channelLinear') {
    w2 = arr([k.out as number, c], r); // PyTorch's [out, in]
    b = k.bias ? arr([k.out as number], r) : null;
    outShape = [n, h, w, k.out as number];
  } else if (k.op === 'patchMerge') {
    outShape = [n, Math.ceil(h / 2), Math.ceil(w / 2), 4 * c];
  }
  return { x, w: w2, b, outShape };
}

function run(k: Case, d: Data): (x: tf.Tensor) => tf.Tensor {
  return (x) => {
    switch (k.op) {
      case 'gelu':
        return gelu(x);
      case 'geluComposed':
        return geluComposed(x);
      case 'hardsigmoid':
        return hardsigmoid(x);
      case 'layerNorm':
        return tf.tidy(() => layerNorm(x, tf.tensor1d(d.w!.data), tf.tensor1d(d.b!.data), k.eps as number));
      case 'channelLinear':
        return tf.tidy(() => {
          const w = tf.transpose(tf.tensor2d(d.w!.data, d.w!.shape as [number, number])) as tf.Tensor2D;
          return channelLinear(x, w, d.b ? tf.tensor1d(d.b.data) : null);
        });
      case 'patchMerge':
        return patchMerge(x as tf.Tensor4D);
    }
  };
}

const SCRIPT = String.raw`
import json, sys, torch
import torch.nn.functional as F
from torchvision.models.swin_transformer import _patch_merging_pad
def t(a, shape): return torch.tensor(a, dtype=torch.float64).reshape(shape)
out = []
for c in json.load(sys.stdin):
    x = t(c['x'], c['xShape']).requires_grad_(True)  # NHWC: these ops are channels-last in PyTorch too
    op = c['op']
    if op in ('gelu', 'geluComposed'): y = F.gelu(x)
    elif op == 'hardsigmoid': y = F.hardsigmoid(x)
    elif op == 'layerNorm':
        y = F.layer_norm(x, (x.shape[-1],), t(c['w'], c['wShape']), t(c['b'], c['bShape']), c['eps'])
    elif op == 'channelLinear':
        y = F.linear(x, t(c['w'], c['wShape']), None if c['b'] is None else t(c['b'], c['bShape']))
    else: y = _patch_merging_pad(x)
    (y * t(c['dy'], list(y.shape))).sum().backward()
    out.append({'y': y.detach().reshape(-1).tolist(), 'yShape': list(y.shape), 'dx': x.grad.reshape(-1).tolist()})
json.dump(out, sys.stdout)
`;

afterAll(() => printWorst('channel ops'));

const haveTorch = torchAvailable();
const itTorch = haveTorch ? it : it.skip;

describe('per-position ops against PyTorch (float64), value and input gradient, wasm and cpu', () => {
  itTorch('every case', async () => {
    const ds = CASES.map((k, i) => data(k, 900 + i));
    const dys = ds.map((d, i) => arr(d.outShape, rng(1900 + i)));
    const refs = runPython<{ y: number[]; yShape: number[]; dx: number[] }[]>(
      SCRIPT,
      CASES.map((k, i) => ({
        op: k.op,
        x: [...ds[i].x.data],
        xShape: k.shape,
        w: ds[i].w ? [...ds[i].w!.data] : null,
        wShape: ds[i].w?.shape,
        b: ds[i].b ? [...ds[i].b!.data] : null,
        bShape: ds[i].b?.shape,
        eps: k.eps,
        dy: [...dys[i].data],
      })),
    );
    for (const [i, k] of CASES.entries()) {
      for (const backend of ['wasm', 'cpu'] as const) {
        const got = await valueAndGrads(backend, run(k, ds[i]), [ds[i].x], dys[i]);
        const L = `${label(k)} [${backend}]`;
        expectClose(`${L} y`, `${k.op} y (${backend})`, got.value.data, refs[i].y, TOL, got.value.shape, refs[i].yShape);
        expectClose(`${L} dx`, `${k.op} dx (${backend})`, got.grads[0].data, refs[i].dx, TOL);
      }
    }
  });
});

describe('GELU accuracy', () => {
  const xs = Float32Array.from({ length: 2201 }, (_, i) => -5.5 + i * 0.005);
  // float64 references from the float32 inputs
  const refY = Array.from(xs, (x) => x * phi64(x));
  const refD = Array.from(xs, (x) => phi64(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI));
  /** max |got - ref| / max(|ref|, floor) and where. */
  const worstRel = (got: ArrayLike<number>, ref: number[], floor = 0) => {
    let w = 0;
    let at = 0;
    for (let i = 0; i < ref.length; i++) {
      const r = Math.abs(got[i] - ref[i]) / Math.max(Math.abs(ref[i]), floor);
      if (r > w) [w, at] = [r, xs[i]];
    }
    return { w, at };
  };

  it('GELU and its derivative are within 1e-6 relative of float64, element-wise, for |x| <= 5.5 (wasm and cpu kernels)', async () => {
    const ones = { data: new Float32Array(xs.length).fill(1), shape: [xs.length] };
    for (const backend of ['wasm', 'cpu'] as const) {
      const got = await valueAndGrads(backend, (t) => gelu(t), [{ data: xs, shape: [xs.length] }], ones);
      const y = worstRel(got.value.data, refY);
      // the derivative Phi + x phi crosses 0 at x = -0.75 by cancellation: there the bound is 3e-8 absolute
      const d = worstRel(got.grads[0].data, refD, 0.03);
      console.log(
        `gelu on ${backend}: max relative error ${y.w.toExponential(2)} at x = ${y.at}; derivative ${d.w.toExponential(2)} at x = ${d.at}`,
      );
      expect(y.w).toBeLessThanOrEqual(1e-6);
      expect(d.w).toBeLessThanOrEqual(1e-6);
    }
  });

  it('the element-wise fallback: its normal CDF is within 1e-6 relative of float64 for |x| <= 5.5', async () => {
    const refCdf = Array.from(xs, (x) => phi64(x));
    for (const backend of ['wasm', 'cpu'] as const) {
      const got = await valueOn(backend, (t) => normalCdf(t), [{ data: xs, shape: [xs.length] }]);
      const c = worstRel(got.data, refCdf);
      console.log(`normalCdf (fallback) on ${backend}: max relative error ${c.w.toExponential(2)} at x = ${c.at}`);
      expect(c.w).toBeLessThanOrEqual(1e-6);
    }
  });

  it('is 0 at 0 and x for large x, and its gradient is Phi + x phi', async () => {
    const x = { data: Float32Array.from([0, 8, -8, 1]), shape: [4] };
    for (const f of [gelu, geluComposed]) {
      const got = await valueAndGrads('wasm', (t) => f(t), [x], { data: Float32Array.from([1, 1, 1, 1]), shape: [4] });
      expect(Array.from(got.value.data.slice(0, 2))).toEqual([0, 8]);
      expect(Math.abs(got.value.data[2])).toBeLessThan(1e-12);
      expect(got.grads[0].data[0]).toBeCloseTo(0.5, 7);
      const d1 = phi64(1) + Math.exp(-0.5) / Math.sqrt(2 * Math.PI);
      expect(Math.abs(got.grads[0].data[3] - d1)).toBeLessThan(1e-6);
    }
  });
});

/** Phi(x) in float64: the Taylor series of erf for |x| < 3, else erfc's continued fraction. */
function phi64(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  let erfc: number;
  if (z < 2.2) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    erfc = 1 - (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Lentz-free backward evaluation of erfc(z) = exp(-z^2)/sqrt(pi) * 1/(z + 1/2/(z + 1/(z + 3/2/(z + ...))))
    let f = z;
    for (let n = 200; n >= 1; n--) f = z + n / 2 / f;
    erfc = Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? erfc / 2 : 1 - erfc / 2;
}
