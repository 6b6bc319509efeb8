/**
 * nn layers against PyTorch (float64, CPU) on the same numbers: BatchNorm2d/1d in train mode
 * (output, input/affine gradients, running statistics after two steps) and eval mode; conv
 * (reflect padding, stride 2), transposed conv, linear, nearest upsampling and LeakyReLU with
 * their gradients; PyTorch's fan_in for the default init bounds. Our side runs on wasm in float32.
 * Tolerance: max|ours - torch| <= 1e-4 * max|torch|.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as nn from '../../src/train/nn';
import { ParamStore } from '../../src/train/params';
import { type Arr, arr, expectClose, printWorst, rng, runPython, torchAvailable, useBackend } from '../ops/harness';

const TOL = 1e-4;
const hasTorch = torchAvailable();
const maybe = hasTorch ? it : it.skip;
if (!hasTorch) console.warn('nn.test: PyTorch parity tests skipped (see the warning above)');

beforeAll(() => useBackend('wasm'));
afterAll(() => {
  if (hasTorch) printWorst('train/nn vs PyTorch');
});

const flat = (t: tf.Tensor) => Array.from(t.dataSync());
const list = (a: Arr) => Array.from(a.data);
const setParam = (store: ParamStore, name: string, a: Arr) => tf.tidy(() => store.get(name).assign(tf.tensor(a.data, a.shape)));

// one Python process for every reference (starting torch takes seconds)
const BN_PART = String.raw`
def bn_case(c):
  C = c['C']
  rank4 = c['rank'] == 4
  bn = (torch.nn.BatchNorm2d if rank4 else torch.nn.BatchNorm1d)(C, eps=1e-5, momentum=0.1)
  def t(a, shape):
      x = torch.tensor(a).reshape(shape)
      return x.permute(0, 3, 1, 2).contiguous() if rank4 else x
  def back(y):
      return (y.permute(0, 2, 3, 1) if rank4 else y).reshape(-1).tolist()
  with torch.no_grad():
      bn.weight.copy_(torch.tensor(c['gamma'])); bn.bias.copy_(torch.tensor(c['beta']))
      bn.running_mean.copy_(torch.tensor(c['rm'])); bn.running_var.copy_(torch.tensor(c['rv']))
  bn.train()
  steps = []
  for x, dy in zip(c['xs'], c['dys']):
      xt = t(x, c['shape']).requires_grad_(True)
      bn.weight.grad = None; bn.bias.grad = None
      y = bn(xt)
      (y * t(dy, c['shape'])).sum().backward()
      steps.append({'y': back(y.detach()), 'dx': back(xt.grad), 'dgamma': bn.weight.grad.tolist(), 'dbeta': bn.bias.grad.tolist(),
                    'rm': bn.running_mean.tolist(), 'rv': bn.running_var.tolist()})
  bn.eval()
  with torch.no_grad():
      ye = bn(t(c['xe'], c['shape']))
  return {'steps': steps, 'eval': back(ye)}
`;

interface BnRef {
  steps: { y: number[]; dx: number[]; dgamma: number[]; dbeta: number[]; rm: number[]; rv: number[] }[];
  eval: number[];
}

function bnData(shape: number[], seed: number) {
  const r = rng(seed);
  const c = shape[shape.length - 1];
  // a per-channel offset and scale so the batch statistics are far from the initial running ones
  const xs = [arr(shape, r), arr(shape, r)].map((a) => ({ ...a, data: a.data.map((v, i) => 3 * v * (1 + (i % c)) + (i % c) - 1) }));
  const dys = [arr(shape, r), arr(shape, r)];
  const xe = arr(shape, r);
  const gamma = arr([c], r),
    beta = arr([c], r);
  const rm = arr([c], r),
    rv = { data: arr([c], r).data.map((v) => 1 + 0.5 * v), shape: [c] };
  const py = {
    C: c,
    rank: shape.length,
    shape,
    xs: xs.map(list),
    dys: dys.map(list),
    xe: list(xe),
    gamma: list(gamma),
    beta: list(beta),
    rm: list(rm),
    rv: list(rv),
  };
  return { shape, xs, dys, xe, gamma, beta, rm, rv, py };
}

function bnCheck(d: ReturnType<typeof bnData>, ref: BnRef): void {
  const { shape, xs, dys, xe, gamma, beta, rm, rv } = d;
  const store = new ParamStore(0);
  const L = `bn [${shape}]`;
  const x0 = tf.tensor(xs[0].data, shape);
  nn.batchNorm(store, 'bn', x0, false).dispose(); // creates the parameters
  x0.dispose();
  setParam(store, 'bn.weight', gamma);
  setParam(store, 'bn.bias', beta);
  setParam(store, 'bn.running_mean', rm);
  setParam(store, 'bn.running_var', rv);
  const gammaV = store.get('bn.weight'),
    betaV = store.get('bn.bias');
  for (let s = 0; s < 2; s++) {
    const before = tf.memory().numTensors;
    const x = tf.tensor(xs[s].data, shape),
      dy = tf.tensor(dys[s].data, shape);
    const f = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      // gamma/beta are the store's variables; g and b only route their gradients
      void g;
      void b;
      return nn.batchNorm(store, 'bn', xi, true);
    };
    const { value, grads } = tf.valueAndGrads(f)([x, gammaV, betaV], dy);
    const want = ref.steps[s];
    expectClose(`${L} step ${s + 1} y`, 'bn train y', flat(value), want.y, TOL);
    expectClose(`${L} step ${s + 1} dx`, 'bn train dx', flat(grads[0]), want.dx, TOL);
    expectClose(`${L} step ${s + 1} dgamma`, 'bn train dgamma', flat(grads[1]), want.dgamma, TOL);
    expectClose(`${L} step ${s + 1} dbeta`, 'bn train dbeta', flat(grads[2]), want.dbeta, TOL);
    expectClose(`${L} step ${s + 1} running_mean`, 'bn running_mean', flat(store.get('bn.running_mean')), want.rm, TOL);
    expectClose(`${L} step ${s + 1} running_var`, 'bn running_var', flat(store.get('bn.running_var')), want.rv, TOL);
    tf.dispose([x, dy, value, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
  }
  const xeT = tf.tensor(xe.data, shape);
  const ye = nn.batchNorm(store, 'bn', xeT, false);
  expectClose(`${L} eval y`, 'bn eval y', flat(ye), ref.eval, TOL);
  tf.dispose([xeT, ye]);
  store.dispose();
}

const LAYER_PART = String.raw`
def t(a, shape): return torch.tensor(a).reshape(shape)
def nchw(a, shape): return t(a, shape).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
def nhwc(y): return y.permute(0, 2, 3, 1)
def layers(c):
  out = {}
  # conv: 5x5, stride 2, reflect padding 2
  k = c['conv']
  x = nchw(k['x'], k['xShape']); w = t(k['w'], k['wShape']).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
  b = torch.tensor(k['b']).requires_grad_(True)
  y = nhwc(F.conv2d(F.pad(x, (2, 2, 2, 2), mode='reflect'), w, b, stride=2))
  (y * t(k['dy'], list(y.shape))).sum().backward()
  out['conv'] = {'y': y.detach().reshape(-1).tolist(), 'yShape': list(y.shape), 'dx': x.grad.permute(0, 2, 3, 1).reshape(-1).tolist(),
                 'dw': w.grad.permute(2, 3, 1, 0).reshape(-1).tolist(), 'db': b.grad.tolist()}
  # transposed conv: k4 s2 p1 (the U-Net's up-sampling)
  k = c['convT']
  x = nchw(k['x'], k['xShape']); w = t(k['w'], k['wShape']).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
  b = torch.tensor(k['b']).requires_grad_(True)
  y = nhwc(F.conv_transpose2d(x, w, b, stride=2, padding=1))
  (y * t(k['dy'], list(y.shape))).sum().backward()
  out['convT'] = {'y': y.detach().reshape(-1).tolist(), 'yShape': list(y.shape), 'dx': x.grad.permute(0, 2, 3, 1).reshape(-1).tolist(),
                  'dw': w.grad.permute(2, 3, 1, 0).reshape(-1).tolist(), 'db': b.grad.tolist()}
  # linear
  k = c['linear']
  x = t(k['x'], k['xShape']).requires_grad_(True); w = t(k['w'], k['wShape']).t().contiguous().requires_grad_(True)
  b = torch.tensor(k['b']).requires_grad_(True)
  y = F.linear(x, w, b)
  (y * t(k['dy'], list(y.shape))).sum().backward()
  out['linear'] = {'y': y.detach().reshape(-1).tolist(), 'dx': x.grad.reshape(-1).tolist(), 'dw': w.grad.t().reshape(-1).tolist(), 'db': b.grad.tolist()}
  # nearest x2 upsampling then LeakyReLU(0.2)
  k = c['up']
  x = nchw(k['x'], k['xShape'])
  y = nhwc(F.leaky_relu(F.interpolate(x, scale_factor=2, mode='nearest'), 0.2))
  (y * t(k['dy'], list(y.shape))).sum().backward()
  out['up'] = {'y': y.detach().reshape(-1).tolist(), 'yShape': list(y.shape), 'dx': x.grad.permute(0, 2, 3, 1).reshape(-1).tolist()}
  # fan_in of PyTorch's layers (the default init bound is 1/sqrt(fan_in))
  fan = torch.nn.init._calculate_fan_in_and_fan_out
  out['fanIn'] = {'conv': fan(torch.nn.Conv2d(3, 5, 4).weight)[0], 'convT': fan(torch.nn.ConvTranspose2d(3, 5, 4).weight)[0],
                  'linear': fan(torch.nn.Linear(7, 5).weight)[0]}
  return out
`;

interface GradRef {
  y: number[];
  yShape?: number[];
  dx: number[];
  dw?: number[];
  db?: number[];
}
interface LayerRefs {
  conv: GradRef;
  convT: GradRef;
  linear: GradRef;
  up: GradRef;
  fanIn: Record<string, number>;
}

const LAYERS = (() => {
  const r = rng(21);
  return {
    conv: { x: arr([2, 9, 8, 3], r), w: arr([5, 5, 3, 4], r), b: arr([4], r) },
    convT: { x: arr([2, 5, 6, 3], r), w: arr([4, 4, 2, 3], r), b: arr([2], r) },
    lin: { x: arr([4, 7], r), w: arr([7, 5], r), b: arr([5], r) },
    up: { x: arr([2, 3, 4, 3], r) },
    dys: { conv: arr([2, 5, 4, 4], r), convT: arr([2, 10, 12, 2], r), linear: arr([4, 5], r), up: arr([2, 6, 8, 3], r) },
  };
})();
const BN_CASES = [bnData([3, 4, 5, 6], 11), bnData([7, 5], 12)];

/** Every PyTorch reference of this file, from one Python process (starting torch takes seconds). */
let refs: { bn: BnRef[]; layers: LayerRefs } | null = null;
beforeAll(() => {
  if (!hasTorch) return;
  const { conv, convT, lin, up, dys } = LAYERS;
  const script =
    `import json, sys, torch\nimport torch.nn.functional as F\ntorch.set_default_dtype(torch.float64)\n${BN_PART}\n${LAYER_PART}\n` +
    "c = json.load(sys.stdin)\njson.dump({'bn': [bn_case(b) for b in c['bn']], 'layers': layers(c['layers'])}, sys.stdout)\n";
  refs = runPython(script, {
    bn: BN_CASES.map((b) => b.py),
    layers: {
      conv: { x: list(conv.x), xShape: conv.x.shape, w: list(conv.w), wShape: conv.w.shape, b: list(conv.b), dy: list(dys.conv) },
      convT: { x: list(convT.x), xShape: convT.x.shape, w: list(convT.w), wShape: convT.w.shape, b: list(convT.b), dy: list(dys.convT) },
      linear: { x: list(lin.x), xShape: lin.x.shape, w: list(lin.w), wShape: lin.w.shape, b: list(lin.b), dy: list(dys.linear) },
      up: { x: list(up.x), xShape: up.x.shape, dy: list(dys.up) },
    },
  });
});

describe('nn.batchNorm against torch.nn.BatchNorm2d / 1d', () => {
  maybe('BatchNorm2d: train mode (two steps: y, grads, running stats) then eval mode', () => bnCheck(BN_CASES[0], refs!.bn[0]));
  maybe('BatchNorm1d on [N, C]', () => bnCheck(BN_CASES[1], refs!.bn[1]));

  it('eval mode normalises with the running statistics, not the batch', () => {
    const store = new ParamStore(0);
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    nn.batchNorm(store, 'bn', x, false).dispose();
    tf.tidy(() => {
      store.get('bn.running_mean').assign(tf.tensor1d([2]));
      store.get('bn.running_var').assign(tf.tensor1d([4 - 1e-5]));
    });
    const y = nn.batchNorm(store, 'bn', x, false);
    expect(flat(y).map((v) => Number(v.toFixed(5)))).toEqual([-0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3]);
    // and leaves them alone
    expect(flat(store.get('bn.running_mean'))).toEqual([2]);
    tf.dispose([x, y]);
    store.dispose();
  });

  it('refuses batch statistics of a single value per channel', () => {
    const store = new ParamStore(0);
    const x = tf.zeros([1, 1, 1, 3]) as tf.Tensor4D;
    expect(() => nn.batchNorm(store, 'bn', x, true)).toThrow(/at least two/);
    x.dispose();
    store.dispose();
  });
});

describe('nn layers against torch.nn.functional', () => {
  maybe('conv (reflect, stride 2), convTranspose (k4 s2 p1), linear, upsampleNearest2x + leakyRelu: values and gradients', () => {
    const { conv, convT, lin, up, dys } = LAYERS;
    const ref = refs!.layers;
    const store = new ParamStore(3);
    const layers: [string, (x: tf.Tensor) => tf.Tensor, { x: Arr; w?: Arr; b?: Arr }, Arr, GradRef][] = [
      [
        'conv',
        (x) => nn.conv(store, 'conv', x as tf.Tensor4D, { out: 4, k: 5, stride: 2, pad: 2, padMode: 'reflect' }),
        conv,
        dys.conv,
        ref.conv,
      ],
      [
        'convT',
        (x) => nn.convTranspose(store, 'convT', x as tf.Tensor4D, { out: 2, k: 4, stride: 2, pad: 1 }),
        convT,
        dys.convT,
        ref.convT,
      ],
      ['linear', (x) => nn.linear(store, 'linear', x as tf.Tensor2D, { out: 5 }), lin, dys.linear, ref.linear],
      ['up', (x) => nn.leakyRelu(nn.upsampleNearest2x(x as tf.Tensor4D), 0.2), up, dys.up, ref.up],
    ];
    for (const [name, f, d, dyA, want] of layers) {
      const x = tf.tensor(d.x.data, d.x.shape);
      tf.tidy(() => {
        f(x);
      }); // creates the parameters
      if (d.w) setParam(store, `${name}.weight`, d.w);
      if (d.b) setParam(store, `${name}.bias`, d.b);
      const vars = d.w ? [store.get(`${name}.weight`), store.get(`${name}.bias`)] : [];
      const dy = tf.tensor(dyA.data, dyA.shape);
      // gradients w.r.t. x and the layer's variables of sum(f(x) * dy)
      const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, ..._vs: tf.Tensor[]) => f(xi))([x, ...vars], dy);
      expectClose(`${name} y`, `${name} y`, flat(value), want.y, TOL, value.shape, want.yShape ?? value.shape);
      expectClose(`${name} dx`, `${name} dx`, flat(grads[0]), want.dx, TOL);
      if (d.w) {
        expectClose(`${name} dw`, `${name} dw`, flat(grads[1]), want.dw!, TOL);
        expectClose(`${name} db`, `${name} db`, flat(grads[2]), want.db!, TOL);
      }
      tf.dispose([x, dy, value, ...grads]);
    }
    store.dispose();

    // default init bounds use PyTorch's fan_in (ConvTranspose2d: weight dim 1 = out channels)
    const s2 = new ParamStore(5);
    const x4 = tf.zeros([1, 6, 6, 3]) as tf.Tensor4D,
      x2 = tf.zeros([1, 7]) as tf.Tensor2D;
    tf.tidy(() => {
      nn.conv(s2, 'conv', x4, { out: 5, k: 4 });
      nn.convTranspose(s2, 'convT', x4, { out: 5, k: 4 });
      nn.linear(s2, 'linear', x2, { out: 5 });
    });
    for (const name of ['conv', 'convT', 'linear']) {
      const bound = 1 / Math.sqrt(ref.fanIn[name]);
      for (const p of ['weight', 'bias']) {
        const v = flat(s2.get(`${name}.${p}`));
        const max = Math.max(...v.map(Math.abs));
        expect(max).toBeLessThanOrEqual(bound * (1 + 1e-6));
        // with >= 60 draws the largest |w| is within 20% of the bound (the other fan_in, 48 for convT, is 29% off)
        if (p === 'weight') expect(max).toBeGreaterThan(0.8 * bound);
      }
    }
    console.log(`torch fan_in: ${JSON.stringify(ref.fanIn)}`);
    tf.dispose([x4, x2]);
    s2.dispose();
  });
});

describe('nn.dropout and nn.upsampleNearest2x', () => {
  it('dropout: seeded mask, rate of zeros, 1/(1-p) scaling, identity in eval', () => {
    const x = tf.ones([4, 16, 16, 8]);
    const a = flat(nn.dropout(x, 0.5, true, 7)),
      b = flat(nn.dropout(x, 0.5, true, 7)),
      c = flat(nn.dropout(x, 0.5, true, 8));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const zeros = a.filter((v) => v === 0).length / a.length;
    expect(Math.abs(zeros - 0.5)).toBeLessThan(0.03);
    expect(a.every((v) => v === 0 || v === 2)).toBe(true);
    expect(nn.dropout(x, 0.5, false, 7)).toBe(x);
    x.dispose();
  });

  it('upsampleNearest2x gradient sums each 2x2 block (wasm)', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const dy = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i),
      [1, 4, 4, 1],
    );
    const y = nn.upsampleNearest2x(x);
    expect(flat(y)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const g = tf.grad((xi: tf.Tensor) => nn.upsampleNearest2x(xi as tf.Tensor4D))(x, dy);
    expect(flat(g)).toEqual([0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]);
    tf.dispose([x, dy, y, g]);
  });
});
