/**
 * A graph of the per-position ops (LayerNorm, channel Linear, GELU, layer scale, Hardsigmoid,
 * Swin's patch merging) against the same module in PyTorch: the torch module's own state_dict binds
 * to the graph (keys and stored shapes), the executor's values and input gradients on wasm and cpu
 * match torch's (max|diff| <= 1e-5 * max|ref|) at an even and an odd size, and the analyser and
 * shape inference give the module's parameter count, stride and sizes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import { type Graph } from '../../src/graph/ir';
import { GraphBuilder } from '../../src/graph/builder';
import { runGraph } from '../../src/graph/executor';
import { buildLayers, disposeLayers } from '../../src/graph/layers';
import { checkStateDict, expectedParams } from '../../src/graph/params';
import { randomStateDict } from '../../src/graph/random-init';
import { analyse, spatialShapes, totalParams } from '../../src/graph/analyse';
import type { StateDict } from '../../src/weights/state-dict';
import { type Arr, arr, expectClose, printWorst, rng, runPython, torchAvailable, useBackend, valueAndGrads } from '../ops/harness';

const TOL = 1e-5;

function buildGraph(): { graph: Graph; mid: number; out: number } {
  const g = new GraphBuilder();
  const x = g.input(6);
  let y = g.layerNorm(x, 'norm0', 1e-6);
  y = g.channelLinear(y, 'fc1', 24);
  y = g.act(y, 'gelu');
  y = g.channelLinear(y, 'fc2', 6);
  y = g.channelScale(y, 'gamma');
  const mid = g.tap('mid', g.act(g.add2(y, x), 'hardsigmoid'));
  let m = g.patchMerge(mid);
  m = g.layerNorm(m, 'norm1');
  const out = g.tap('out', g.channelLinear(m, 'red', 12, false));
  return { graph: g.build(out), mid: mid.id, out: out.id };
}

const SCRIPT = String.raw`
import json, sys, torch
import torch.nn as nn, torch.nn.functional as F
from torchvision.models.swin_transformer import _patch_merging_pad
torch.manual_seed(0)
class M(nn.Module):
    def __init__(s):
        super().__init__()
        s.norm0 = nn.LayerNorm(6, eps=1e-6)
        s.fc1 = nn.Linear(6, 24)
        s.fc2 = nn.Linear(24, 6)
        s.gamma = nn.Parameter(torch.rand(6, 1, 1) + 0.5)  # ConvNeXt's layer_scale layout
        s.norm1 = nn.LayerNorm(24)
        s.red = nn.Linear(24, 12, bias=False)
    def forward(s, x):  # x NHWC
        y = s.fc2(F.gelu(s.fc1(s.norm0(x))))
        y = (y.permute(0, 3, 1, 2) * s.gamma).permute(0, 2, 3, 1)  # layer scale on NCHW, as ConvNeXt
        mid = F.hardsigmoid(y + x)
        return mid, s.red(s.norm1(_patch_merging_pad(mid)))
m = M().double()
with torch.no_grad():
    for n in ['norm0', 'norm1']:
        getattr(m, n).weight.uniform_(0.5, 1.5); getattr(m, n).bias.uniform_(-0.5, 0.5)
req = json.load(sys.stdin)
res = {'sd': {k: {'shape': list(v.shape), 'data': v.float().reshape(-1).tolist()} for k, v in m.state_dict().items()},
       'params': sum(p.numel() for p in m.parameters()), 'runs': []}
m = m.float().double()  # the weights as float32 values, computed in float64
for c in req:
    x = torch.tensor(c['x'], dtype=torch.float64).reshape(c['shape']).requires_grad_(True)
    mid, out = m(x)
    (out * torch.tensor(c['dy'], dtype=torch.float64).reshape(out.shape)).sum().backward()
    res['runs'].append({'mid': mid.detach().reshape(-1).tolist(), 'out': out.detach().reshape(-1).tolist(),
                        'outShape': list(out.shape), 'dx': x.grad.reshape(-1).tolist()})
json.dump(res, sys.stdout)
`;

interface TorchRun {
  mid: number[];
  out: number[];
  outShape: number[];
  dx: number[];
}

const SIZES: [number, number][] = [
  [8, 6],
  [7, 5],
];

afterAll(() => printWorst('channel-op graph'));

beforeAll(async () => {
  await initBackend('wasm');
});

const haveTorch = torchAvailable();
const itTorch = haveTorch ? it : it.skip;

describe('a graph of the per-position ops against the same torch module', () => {
  itTorch("binds torch's state_dict and matches values and input gradients (wasm, cpu; even and odd sizes)", async () => {
    const { graph, mid, out } = buildGraph();
    const inputs = SIZES.map(([h, w], i) => {
      const r = rng(70 + i);
      const x = arr([2, h, w, 6], r);
      return { x, dy: arr([2, Math.ceil(h / 2), Math.ceil(w / 2), 12], r) };
    });
    const ref = runPython<{ sd: Record<string, { shape: number[]; data: number[] }>; params: number; runs: TorchRun[] }>(
      SCRIPT,
      inputs.map((d) => ({ x: [...d.x.data], shape: d.x.shape, dy: [...d.dy.data] })),
    );
    const sd: StateDict = new Map(
      Object.entries(ref.sd).map(([k, v]) => [k, { dtype: 'float32' as const, shape: v.shape, data: Float32Array.from(v.data) }]),
    );
    const report = checkStateDict(graph, sd);
    expect(report).toEqual({ missing: [], unexpected: [], misshaped: [] });
    expect(expectedParams(graph).find((p) => p.key === 'gamma')?.shape).toEqual([6, 1, 1]);
    expect(totalParams(graph)).toBe(ref.params);

    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      const layers = buildLayers(graph, sd);
      try {
        for (const [i, d] of inputs.entries()) {
          const L = `${SIZES[i].join('x')} [${backend}]`;
          const [gotMid, gotOut] = tf.tidy(() =>
            runGraph(graph, layers, tf.tensor4d(d.x.data, d.x.shape as [number, number, number, number]), [mid, out]),
          );
          expectClose(`${L} mid`, `mid (${backend})`, gotMid.dataSync(), ref.runs[i].mid, TOL);
          expectClose(`${L} out`, `out (${backend})`, gotOut.dataSync(), ref.runs[i].out, TOL, gotOut.shape, ref.runs[i].outShape);
          tf.dispose([gotMid, gotOut]);
          const f = (x: tf.Tensor) => runGraph(graph, layers, x as tf.Tensor4D, [out])[0];
          const got = await valueAndGrads(backend, f, [d.x as Arr], d.dy);
          expectClose(`${L} dx`, `dx (${backend})`, got.grads[0].data, ref.runs[i].dx, TOL);
        }
      } finally {
        disposeLayers(layers);
      }
    }
  });
});

describe('analyser, shapes and random init of the per-position ops', () => {
  it('patch merging halves the size (ceil) and doubles stride; the rest is per-position', () => {
    const { graph, mid, out } = buildGraph();
    const shapes = spatialShapes(graph, 7, 5);
    expect(shapes[mid]).toEqual([7, 5]);
    expect(shapes[out]).toEqual([4, 3]);
    const a = analyse(graph);
    expect(a.get(mid)).toMatchObject({ stride: 1, receptiveField: 1, channels: 6 });
    expect(a.get(out)).toMatchObject({ stride: 2, receptiveField: 2, channels: 12 });
    // LayerNorms 2*6 + 2*24, fc1 6*24+24, fc2 24*6+6, gamma 6, red 24*12
    expect(a.get(out)?.paramsUpTo).toBe(12 + 48 + 168 + 150 + 6 + 288);
    // two merges: 2x2 at stride 2 after a window that already spans 2 -> 2 + 2 = 4, stride 4
    const g = new GraphBuilder();
    const x2 = g.patchMerge(g.patchMerge(g.input(3)));
    const a2 = analyse(g.build(x2), [x2.id]);
    expect(a2.get(x2.id)).toMatchObject({ stride: 4, receptiveField: 4, channels: 48 });
  });

  it('a layer scale whose stored shape does not hold one factor per channel is refused when the graph is built', () => {
    const g = new GraphBuilder();
    const x = g.input(6);
    expect(() => g.channelScale(x, 'gamma', [3, 1, 1])).toThrow(/gamma.*shape \[3, 1, 1\] does not hold 6 factors/);
    expect(g.channelScale(x, 'gamma2', [6]).channels).toBe(6);
  });

  it('a seeded random state_dict binds, is identity for LayerNorm and layer scale, and runs', () => {
    const { graph, out } = buildGraph();
    const sd = randomStateDict(graph, 5);
    expect(checkStateDict(graph, sd)).toEqual({ missing: [], unexpected: [], misshaped: [] });
    expect([...sd.get('gamma')!.data]).toEqual([1, 1, 1, 1, 1, 1]);
    expect([...sd.get('norm1.weight')!.data].every((v) => v === 1)).toBe(true);
    expect([...sd.get('norm1.bias')!.data].every((v) => v === 0)).toBe(true);
    expect(sd.get('fc1.weight')!.data.some((v) => v !== 0)).toBe(true);
    expect([...randomStateDict(graph, 5).get('fc1.weight')!.data]).toEqual([...sd.get('fc1.weight')!.data]);
    const layers = buildLayers(graph, sd);
    const before = tf.memory().numTensors;
    const y = tf.tidy(() => runGraph(graph, layers, tf.randomNormal([1, 9, 9, 6], 0, 1, 'float32', 3) as tf.Tensor4D, [out])[0]);
    expect(y.shape).toEqual([1, 5, 5, 12]);
    expect(y.dataSync().every((v) => Number.isFinite(v))).toBe(true);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    disposeLayers(layers);
  });
});
