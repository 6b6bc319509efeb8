/**
 * The transformer ops against PyTorch: global attention against nn.MultiheadAttention (ViT's use),
 * windowed attention against torchvision's ShiftedWindowAttention (odd sizes, maps smaller than
 * the window, shifted and not, a shift dropped on one axis), the positional-embedding resize
 * against torchvision's interpolate_embeddings, and class token / posEmbed / tokensToMap as ViT
 * composes them. PyTorch computes in float64 from float32 inputs; dpl runs float32 on wasm.
 */
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../../src/gradients';
import { GraphBuilder } from '../../src/graph/builder';
import { runGraph } from '../../src/graph/executor';
import { buildLayers, disposeLayers } from '../../src/graph/layers';
import { checkStateDict, expectedParams } from '../../src/graph/params';
import { randomStateDict } from '../../src/graph/random-init';
import { spatialShapes } from '../../src/graph/shapes';
import { relativePositionIndex } from '../../src/ops/attention';
import { PosEmbedLayer, resizePosEmbedding } from '../../src/ops/pos-embed';
import { pythonLacks, referencePython } from '../../src/testkit/python';
import type { StateDict } from '../../src/weights/state-dict';

const lacks = pythonLacks('transformer op parity');
const maybe = lacks ? it.skip : it;

interface Arr {
  shape: number[];
  data: number[];
}
interface RefCase {
  x: Arr;
  y: Arr;
  /** dL/dy and dL/dx (global and windowed attention) */
  dy?: Arr;
  dx?: Arr;
  sd: Record<string, Arr>;
}

const PY = String.raw`
import json, sys, torch
from torchvision.models.swin_transformer import ShiftedWindowAttention
from torchvision.models.vision_transformer import interpolate_embeddings
torch.manual_seed(0)
def arr(t): return {'shape': list(t.shape), 'data': t.detach().double().reshape(-1).tolist()}
def f32(*shape, scale=1.0): return (torch.randn(*shape) * scale).float()
out = {'mha': [], 'swin': [], 'interp': [], 'vit': None}
req = json.load(sys.stdin)
for c in req['mha']:
    C, heads = c['channels'], c['heads']
    m = torch.nn.MultiheadAttention(C, heads, batch_first=True)
    with torch.no_grad():
        for p in m.parameters(): p.copy_(f32(*p.shape, scale=0.3))
    m.eval()
    x = f32(c['n'], c['h'], c['w'], C)
    md = m.double()
    xd = x.double().requires_grad_(True)
    xt = xd.reshape(c['n'], c['h'] * c['w'], C)
    y, _ = md(xt, xt, xt, need_weights=False)
    y = y.reshape(c['n'], c['h'], c['w'], C)
    dy = f32(*y.shape)
    y.backward(dy.double())
    out['mha'].append({'x': arr(x), 'y': arr(y), 'dy': arr(dy), 'dx': arr(xd.grad),
                       'sd': {'attn.' + k: arr(v) for k, v in m.state_dict().items()}})
for c in req['swin']:
    C, heads = c['channels'], c['heads']
    m = ShiftedWindowAttention(C, c['window'], c['shift'], heads)
    with torch.no_grad():
        for name, p in m.named_parameters(): p.copy_(f32(*p.shape, scale=0.3 if 'table' not in name else 1.0))
    m.eval()
    x = f32(c['n'], c['h'], c['w'], C)
    xd = x.double().requires_grad_(True)
    y = m.double()(xd)
    dy = f32(*y.shape)
    y.backward(dy.double())
    out['swin'].append({'x': arr(x), 'y': arr(y), 'dy': arr(dy), 'dx': arr(xd.grad),
                        'sd': {'attn.' + k: arr(v) for k, v in m.state_dict().items()}})
for c in req['interp']:
    pe = f32(1, 1 + c['grid'] ** 2, c['channels'])
    st = interpolate_embeddings(c['to'] * 16, 16, {'encoder.pos_embedding': pe.double().clone()})
    out['interp'].append({'x': arr(pe), 'y': arr(st['encoder.pos_embedding']), 'sd': {}})
v = req['vit']
C, g = v['channels'], v['grid']
tok, pe = f32(1, 1, C), f32(1, 1 + g * g, C)
x = f32(v['n'], v['h'], v['w'], C)
pe_new = interpolate_embeddings(v['h'] * 16, 16, {'encoder.pos_embedding': pe.double().clone()})['encoder.pos_embedding']
row = torch.cat([tok.double().expand(v['n'], -1, -1), x.double().reshape(v['n'], -1, C)], 1) + pe_new
out['vit'] = {'x': arr(x), 'y': arr(row), 'sd': {'cls': arr(tok), 'pos': arr(pe)}}
print(json.dumps(out))
`;

interface Swin {
  n: number;
  h: number;
  w: number;
  channels: number;
  heads: number;
  window: [number, number];
  shift: [number, number];
}
const MHA = [
  { n: 2, h: 1, w: 7, channels: 16, heads: 4 }, // a token row
  { n: 1, h: 3, w: 5, channels: 12, heads: 3 }, // a map: all 15 positions attend
];
const SWIN: Swin[] = [
  { n: 2, h: 9, w: 11, channels: 8, heads: 2, window: [4, 4], shift: [2, 2] }, // odd sizes, padded, shifted
  { n: 1, h: 9, w: 11, channels: 8, heads: 2, window: [4, 4], shift: [0, 0] }, // not shifted
  { n: 1, h: 3, w: 5, channels: 8, heads: 2, window: [4, 4], shift: [2, 2] }, // H below the window: its shift dropped
  { n: 1, h: 2, w: 3, channels: 8, heads: 2, window: [7, 7], shift: [3, 3] }, // smaller than the window: no shift
  { n: 1, h: 14, w: 14, channels: 6, heads: 3, window: [7, 7], shift: [3, 3] }, // Swin's window at an exact fit
  { n: 1, h: 7, w: 10, channels: 8, heads: 2, window: [3, 5], shift: [1, 2] }, // a non-square window
];
const INTERP = [
  { channels: 5, grid: 4, to: 6 },
  { channels: 5, grid: 4, to: 3 },
  { channels: 3, grid: 14, to: 4 },
];
const VIT = { n: 2, h: 5, w: 5, channels: 6, grid: 3 };

let ref: { mha: RefCase[]; swin: RefCase[]; interp: RefCase[]; vit: RefCase } | undefined;
function reference() {
  if (!ref) {
    const input = JSON.stringify({ mha: MHA, swin: SWIN, interp: INTERP, vit: VIT });
    ref = JSON.parse(execFileSync(referencePython().python, ['-c', PY], { input, encoding: 'utf8', maxBuffer: 1 << 28 })) as typeof ref;
  }
  return ref as NonNullable<typeof ref>;
}

const toSd = (o: Record<string, Arr>): StateDict =>
  new Map(Object.entries(o).map(([k, v]) => [k, { dtype: 'float32' as const, shape: v.shape, data: Float32Array.from(v.data) }]));

/** max |got - want| / max |want| */
function relErr(got: ArrayLike<number>, want: number[]): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    m = Math.max(m, Math.abs(want[i]));
  }
  return d / m;
}

beforeAll(async () => {
  await tf.setBackend('wasm');
});

function runOne(build: (b: GraphBuilder) => void, c: RefCase) {
  const b = new GraphBuilder();
  build(b);
  const g = b.build();
  const sd = toSd(c.sd);
  const report = checkStateDict(g, sd);
  expect(report).toEqual({ missing: [], unexpected: [], misshaped: [] });
  const layers = buildLayers(g, sd);
  const x = tf.tensor4d(Float32Array.from(c.x.data), c.x.shape as [number, number, number, number]);
  const [y] = runGraph(g, layers, x, [g.output]);
  const shapes = spatialShapes(g, c.x.shape[1], c.x.shape[2]);
  const got = { shape: y.shape, err: relErr(y.dataSync(), c.y.data), inferred: shapes[g.output] };
  tf.dispose([x, y]);
  disposeLayers(layers);
  return got;
}

maybe('global attention equals nn.MultiheadAttention (eval) on token rows and maps', () => {
  reference().mha.forEach((c, i) => {
    const o = MHA[i];
    const r = runOne((b) => b.attention(b.input(o.channels), 'attn', { heads: o.heads, params: 'mha' }), c);
    expect(r.shape).toEqual(c.y.shape);
    expect(r.inferred).toEqual([o.h, o.w]);
    expect(r.err).toBeLessThan(1e-5);
    console.log(`mha ${o.h}x${o.w}: max rel err ${r.err.toExponential(1)}`);
  });
});

maybe("windowed attention equals torchvision's ShiftedWindowAttention (pad, shift rule, mask, bias)", () => {
  reference().swin.forEach((c, i) => {
    const o = SWIN[i];
    // the torchvision state_dict holds relative_position_index: accepted, not read
    expect(Object.keys(c.sd)).toContain('attn.relative_position_index');
    const r = runOne(
      (b) =>
        b.attention(b.input(o.channels), 'attn', {
          heads: o.heads,
          params: 'qkv',
          window: o.window,
          shift: o.shift,
          relativePositionBias: true,
        }),
      c,
    );
    expect(r.shape).toEqual(c.y.shape);
    expect(r.err).toBeLessThan(1e-5);
    console.log(`swin ${o.h}x${o.w} window ${o.window} shift ${o.shift}: max rel err ${r.err.toExponential(1)}`);
  });
});

maybe("the relative position index is torchvision's buffer", () => {
  reference().swin.forEach((c, i) => {
    expect(Array.from(relativePositionIndex(SWIN[i].window))).toEqual(c.sd['attn.relative_position_index'].data);
  });
});

maybe("the positional embedding resize equals torchvision's interpolate_embeddings (bicubic, align_corners)", () => {
  reference().interp.forEach((c, i) => {
    const o = INTERP[i];
    const got = resizePosEmbedding(Float32Array.from(c.x.data), o.channels, [o.grid, o.grid], [o.to, o.to]);
    expect(got.length).toBe(c.y.data.length);
    expect(relErr(got, c.y.data)).toBeLessThan(1e-6);
  });
});

maybe('classToken, posEmbed (another grid) and tokensToMap compose as ViT does', () => {
  const c = reference().vit;
  const o = VIT;
  const row = runOne((b) => {
    const p = b.input(o.channels);
    const t = b.classToken(p, 'cls');
    b.posEmbed(t, p, 'pos', o.grid);
  }, c);
  expect(row.shape).toEqual([o.n, 1, 1 + o.h * o.w, o.channels]);
  expect(row.inferred).toEqual([1, 1 + o.h * o.w]);
  expect(row.err).toBeLessThan(1e-6);
  // tokensToMap undoes classToken: the patch map comes back exactly
  const b = new GraphBuilder();
  const p = b.input(o.channels);
  const m = b.tokensToMap(b.classToken(p, 'cls'), p);
  const g = b.build(m);
  const layers = buildLayers(g, toSd(c.sd));
  const x = tf.tensor4d(Float32Array.from(c.x.data), c.x.shape as [number, number, number, number]);
  const [y] = runGraph(g, layers, x, [g.output]);
  expect(y.shape).toEqual(x.shape);
  expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
  expect(spatialShapes(g, o.h, o.w)[g.output]).toEqual([o.h, o.w]);
  tf.dispose([x, y]);
  disposeLayers(layers);
});

it('expected params name the torchvision keys and shapes; a misshaped index buffer is reported', () => {
  const b = new GraphBuilder();
  const x = b.input(8);
  b.attention(x, 'f.attn', { heads: 2, params: 'qkv', window: 3, shift: 1, relativePositionBias: true });
  const t = b.classToken(x, 'class_token');
  b.attention(b.posEmbed(t, x, 'encoder.pos_embedding', 4), 'sa', { heads: 4, params: 'mha' });
  const g = b.build();
  expect(expectedParams(g).map((p) => `${p.key} [${p.shape.join(',')}]`)).toEqual([
    'f.attn.qkv.weight [24,8]',
    'f.attn.qkv.bias [24]',
    'f.attn.proj.weight [8,8]',
    'f.attn.proj.bias [8]',
    'f.attn.relative_position_bias_table [25,2]',
    'class_token [1,1,8]',
    'encoder.pos_embedding [1,17,8]',
    'sa.in_proj_weight [24,8]',
    'sa.in_proj_bias [24]',
    'sa.out_proj.weight [8,8]',
    'sa.out_proj.bias [8]',
  ]);
  const sd: StateDict = new Map(expectedParams(g).map((p) => [p.key, { dtype: 'float32', shape: p.shape, data: new Float32Array(0) }]));
  expect(checkStateDict(g, sd)).toEqual({ missing: [], unexpected: [], misshaped: [] });
  sd.set('f.attn.relative_position_index', { dtype: 'int64', shape: [81], data: new Float32Array(0) });
  expect(checkStateDict(g, sd)).toEqual({ missing: [], unexpected: [], misshaped: [] });
  sd.set('f.attn.relative_position_index', { dtype: 'int64', shape: [80], data: new Float32Array(0) });
  expect(checkStateDict(g, sd).misshaped).toEqual([{ key: 'f.attn.relative_position_index', expected: [81], actual: [80] }]);
  // a token row whose grid does not match the patch map is a clear error
  expect(() => spatialShapes(g, 4, 4)).not.toThrow();
});

/** dL/dx of sum(y * dy) through a one-attention graph on the current backend. */
function inputGrad(
  o: { channels: number; heads: number } & Partial<Swin>,
  c: RefCase,
  params: 'mha' | 'qkv',
): { grad: Float32Array; tensors: number[] } {
  const b = new GraphBuilder();
  const x0 = b.input(o.channels);
  if (params === 'mha') b.attention(x0, 'attn', { heads: o.heads, params });
  else b.attention(x0, 'attn', { heads: o.heads, params, window: o.window, shift: o.shift, relativePositionBias: true });
  const g = b.build();
  const layers = buildLayers(g, toSd(c.sd));
  const x = tf.tensor4d(Float32Array.from(c.x.data), c.x.shape as [number, number, number, number]);
  const dy = tf.tensor(Float32Array.from((c.dy as Arr).data), (c.dy as Arr).shape);
  const f = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(runGraph(g, layers, xi as tf.Tensor4D, [g.output])[0], dy)));
  const tensors: number[] = [];
  let grad: Float32Array = new Float32Array(0);
  for (let i = 0; i < 3; i++) {
    const gx = f(x);
    grad = gx.dataSync() as Float32Array;
    gx.dispose();
    tensors.push(tf.memory().numTensors);
  }
  tf.dispose([x, dy]);
  disposeLayers(layers);
  return { grad, tensors };
}

describe.each(['wasm', 'cpu'])('input gradients through attention on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  maybe('global attention: dL/dx equals autograd through nn.MultiheadAttention', () => {
    reference().mha.forEach((c, i) => {
      const r = inputGrad(MHA[i], c, 'mha');
      const err = relErr(r.grad, (c.dx as Arr).data);
      console.log(`${backend} mha dL/dx ${MHA[i].h}x${MHA[i].w}: ${err.toExponential(1)}`);
      expect(err).toBeLessThan(1e-5);
      expect(new Set(r.tensors).size).toBe(1); // no tensor kept per call
    });
  });

  maybe('windowed attention: dL/dx equals autograd through ShiftedWindowAttention', () => {
    reference().swin.forEach((c, i) => {
      const r = inputGrad(SWIN[i], c, 'qkv');
      const err = relErr(r.grad, (c.dx as Arr).data);
      console.log(`${backend} swin dL/dx case ${i}: ${err.toExponential(1)}`);
      expect({ i, err: err < 1e-5 }).toEqual({ i, err: true });
      expect(new Set(r.tensors).size).toBe(1);
    });
  });
});

it('classToken / posEmbed / tokensToMap pass gradients to the patch map only, with a flat tensor count', async () => {
  await tf.setBackend('wasm');
  const b = new GraphBuilder();
  const p = b.input(4);
  const row = b.posEmbed(b.classToken(p, 'cls'), p, 'pos', 2);
  const m = b.tokensToMap(row, p);
  const g = b.build(m);
  const sd = randomStateDict(g, 1);
  const layers = buildLayers(g, sd);
  const x = tf.randomNormal([2, 3, 5, 4], 0, 1, 'float32', 1) as tf.Tensor4D; // a 3x5 grid: the embedding is resized
  const w = tf.randomNormal([2, 3, 5, 4], 0, 1, 'float32', 2);
  const f = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(runGraph(g, layers, xi as tf.Tensor4D, [m.id])[0], w)));
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const gx = f(x);
    // y = x + embedding, so dL/dx = w exactly
    expect(Array.from(gx.dataSync())).toEqual(Array.from(w.dataSync()));
    gx.dispose();
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts).size).toBe(1);
  const before = tf.memory().numTensors;
  disposeLayers(layers); // the cached resized embedding goes with the layers
  expect(tf.memory().numTensors).toBe(before - 2);
  tf.dispose([x, w]);
});

it('the resized positional embeddings are cached per grid, at most MAX_GRIDS at once', () => {
  const before = tf.memory().numTensors;
  const pe = new PosEmbedLayer(
    Float32Array.from({ length: 5 * 2 }, (_, i) => i),
    2,
    [2, 2],
  );
  const first = pe.forGrid([3, 3]);
  expect(pe.forGrid([3, 3])).toBe(first); // computed once
  for (let g = 1; g <= 10; g++) pe.forGrid([g, 1]);
  expect(tf.memory().numTensors - before).toBe(PosEmbedLayer.MAX_GRIDS);
  expect(first.isDisposed).toBe(true); // the oldest went first
  pe.dispose();
  expect(tf.memory().numTensors).toBe(before);
});
