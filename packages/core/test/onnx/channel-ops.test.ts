/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * ONNX export of the per-position ops (GELU, Hardsigmoid, LayerNorm, channel Linear, layer scale,
 * patch merging): one exported model, run on onnxruntime at an even and an odd size (H and W are
 * symbolic, so patch merging's padding is computed at run time), equals the tfjs executor on wasm.
 * Criterion: max|onnx - tfjs| <= 1e-5 * max|tfjs| at every output, both layouts.
 */
import { initBackend } from '../../src/backend';
import { GraphBuilder } from '../../src/graph/builder';
import type { Graph } from '../../src/graph/ir';
import { expectedParams } from '../../src/graph/params';
import { exportGraphOnnx } from '../../src/onnx/export';
import { sessionOptions } from '../../src/onnx/runtime';
import type { StateDict } from '../../src/weights/state-dict';
import { fillNormal, mulberry32 } from '../../src/util/random';
import { describeOrt, ort, randomInput, relErr, runTfjs } from './helpers';

const TOL = 1e-5;

/** A ConvNeXt-like block, a MobileNetV3-like gate and two Swin merges. */
function buildGraph(): { graph: Graph; outs: { name: string; node: number }[] } {
  const g = new GraphBuilder();
  const x = g.input(3);
  const stem = g.conv(x, 'stem', { out: 8, k: 3, pad: 1 });
  let y = g.layerNorm(stem, 'block.norm', 1e-6);
  y = g.channelLinear(y, 'block.fc1', 32);
  y = g.act(y, 'gelu');
  y = g.channelLinear(y, 'block.fc2', 8);
  y = g.channelScale(y, 'block.layer_scale');
  const block = g.tap('block', g.add2(y, stem));
  const gate = g.act(g.channelLinear(block, 'gate', 8, false), 'hardsigmoid');
  const gated = g.tap('gated', g.mul(block, gate));
  let m = g.patchMerge(gated);
  m = g.layerNorm(m, 'merge1.norm');
  m = g.tap('merge1', g.channelLinear(m, 'merge1.reduction', 16, false));
  const m2 = g.tap('merge2', g.patchMerge(m));
  const graph = g.build(m2);
  return { graph, outs: graph.taps.map((t) => ({ name: t.name, node: t.node })) };
}

/** Every parameter non-trivial (LayerNorm affine and layer scale away from 1 and 0). */
function weights(graph: Graph): StateDict {
  const sd: StateDict = new Map();
  const r = mulberry32(17);
  for (const p of expectedParams(graph)) {
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    if (p.role === 'weight' && p.shape.length > 1) fillNormal(data, r, Math.sqrt(2 / (data.length / p.shape[0])));
    else if (p.role === 'weight' || p.role === 'scale') for (let i = 0; i < data.length; i++) data[i] = 0.5 + r();
    else for (let i = 0; i < data.length; i++) data[i] = r() - 0.5;
    sd.set(p.key, { dtype: 'float32', shape: p.shape, data });
  }
  return sd;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describeOrt('ONNX export of the per-position ops = tfjs executor (wasm)', () => {
  for (const layout of ['nchw', 'nhwc'] as const) {
    it(`one ${layout} model at 12x10 and 9x7`, async () => {
      const { graph, outs } = buildGraph();
      const sd = weights(graph);
      const m = exportGraphOnnx(graph, sd, outs, { layout });
      const o = ort();
      const s = await o.InferenceSession.create(m.bytes, sessionOptions(1));
      const report: string[] = [];
      try {
        for (const [h, w] of [
          [12, 10],
          [9, 7],
        ]) {
          const shape = [2, 3, h, w];
          const x = randomInput(shape as [number, number, number, number], h);
          const ref = runTfjs(
            graph,
            sd,
            outs.map((p) => p.node),
            x,
            shape,
          );
          const feedShape = layout === 'nchw' ? shape : [2, h, w, 3];
          const feed = layout === 'nchw' ? x : nchwToNhwc(x, shape);
          const res = await s.run({ [m.inputName]: new o.Tensor('float32', feed, feedShape) });
          for (const [i, p] of outs.entries()) {
            const got = res[p.name];
            const r = ref[i];
            const dims = [...got.dims];
            const data = layout === 'nchw' ? (got.data as Float32Array) : nhwcToNchw(got.data as Float32Array, dims);
            expect({ p: p.name, dims: layout === 'nchw' ? dims : [dims[0], dims[3], dims[1], dims[2]] }).toEqual({
              p: p.name,
              dims: r.shape,
            });
            const e = relErr(data, r.data);
            report.push(`${p.name}@${h}x${w} ${e.rel.toExponential(1)}`);
            expect({ p: p.name, h, rel: e.rel <= TOL }).toEqual({ p: p.name, h, rel: true });
          }
        }
      } finally {
        await s.release();
      }
      console.log(`channel ops onnx (${layout}) max|diff|/max|ref|: ${report.join(', ')}`);
    });
  }
});

function nchwToNhwc(x: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) y[((b * h + i) * w + j) * c + k] = x[((b * c + k) * h + i) * w + j];
  return y;
}

function nhwcToNchw(x: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) y[((b * c + k) * h + i) * w + j] = x[((b * h + i) * w + j) * c + k];
  return y;
}
