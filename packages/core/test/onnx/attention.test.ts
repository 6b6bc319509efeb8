/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * ONNX export of the transformer ops (attention, classToken, posEmbed, tokensToMap) against the
 * tfjs executor (itself parity-tested against PyTorch in test/graph/attention.test.ts). One exported
 * model serves every input size: Swin's padding, shift rule and mask and ViT's resized positional
 * embedding are computed inside the model, so each model runs at several sizes, odd ones, ones
 * smaller than the window, and patch grids other than the trained one.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { GraphBuilder } from '../../src/graph/builder';
import type { Graph } from '../../src/graph/ir';
import { expectedParams } from '../../src/graph/params';
import { fillNormal, mulberry32 } from '../../src/util/random';
import type { StateDict } from '../../src/weights/state-dict';
import { exportGraphOnnx } from '../../src/onnx/export';
import { sessionOptions } from '../../src/onnx/runtime';
import { ort, randomInput, relErr, runTfjs, withOrt } from './helpers';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

/** Every parameter random and non-trivial (biases and embeddings included). */
function randomWeights(g: Graph, seed: number): StateDict {
  const rand = mulberry32(seed);
  const sd: StateDict = new Map();
  for (const p of expectedParams(g)) {
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    const fanIn = p.role === 'weight' && p.shape.length > 1 ? p.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    fillNormal(data, rand, p.role === 'weight' && p.shape.length > 1 ? Math.sqrt(1 / fanIn) : 0.5);
    sd.set(p.key, { dtype: 'float32', shape: p.shape, data });
  }
  return sd;
}

/** A ViT in miniature: patches, class token, positional embedding (trained on 3x3), two attentions, the map back. */
function vitLike(): { g: Graph; outs: { name: string; node: number }[] } {
  const b = new GraphBuilder();
  const img = b.input(3);
  const patches = b.conv(img, 'conv_proj', { out: 8, k: 4, stride: 4 });
  const row = b.posEmbed(b.classToken(patches, 'class_token'), patches, 'encoder.pos_embedding', 3);
  const a1 = b.attention(row, 'l0', { heads: 2, params: 'mha' });
  const a2 = b.attention(b.add2(a1, row), 'l1', { heads: 4, params: 'mha' });
  const map = b.tokensToMap(a2, patches);
  return {
    g: b.build(map),
    outs: [
      { name: 'row', node: row.id },
      { name: 'map', node: map.id },
    ],
  };
}

/** Swin's attention chain in miniature: patches, W-MSA, SW-MSA, and a map attended globally. */
function swinLike(): { g: Graph; outs: { name: string; node: number }[] } {
  const b = new GraphBuilder();
  const img = b.input(3);
  const p = b.conv(img, 'patch', { out: 6, k: 2, stride: 2 });
  const w = b.attention(p, 'w', { heads: 2, params: 'qkv', window: 3, shift: 0, relativePositionBias: true });
  const sw = b.attention(w, 'sw', { heads: 3, params: 'qkv', window: 3, shift: 1, relativePositionBias: true });
  const rect = b.attention(sw, 'rect', { heads: 2, params: 'qkv', window: [2, 4], shift: [1, 2], relativePositionBias: true });
  const g = b.attention(rect, 'global', { heads: 3, params: 'mha' });
  return {
    g: b.build(g),
    outs: [
      { name: 'w', node: w.id },
      { name: 'sw', node: sw.id },
      { name: 'rect', node: rect.id },
      { name: 'global', node: g.id },
    ],
  };
}

async function compare(net: { g: Graph; outs: { name: string; node: number }[] }, sizes: [number, number][]): Promise<string[]> {
  const sd = randomWeights(net.g, 5);
  const m = exportGraphOnnx(net.g, sd, net.outs);
  const o = ort();
  const s = await o.InferenceSession.create(m.bytes, sessionOptions(1));
  const report: string[] = [];
  try {
    for (const [h, w] of sizes) {
      const shape: [number, number, number, number] = [2, 3, h, w];
      const x = randomInput(shape, h * 100 + w);
      const ref = runTfjs(
        net.g,
        sd,
        net.outs.map((q) => q.node),
        x,
        shape,
      );
      const res = await s.run({ [m.inputName]: new o.Tensor('float32', x, shape) });
      net.outs.forEach((q, i) => {
        const got = res[q.name];
        expect({ at: `${h}x${w} ${q.name}`, shape: [...got.dims] }).toEqual({ at: `${h}x${w} ${q.name}`, shape: ref[i].shape });
        const e = relErr(got.data as Float32Array, ref[i].data);
        report.push(`${h}x${w} ${q.name} ${e.rel.toExponential(1)}`);
        expect({ at: `${h}x${w} ${q.name}`, ok: e.rel <= 1e-5 }).toEqual({ at: `${h}x${w} ${q.name}`, ok: true });
      });
    }
  } finally {
    await s.release();
  }
  return report;
}

withOrt('ViT ops export: the same model at the trained grid and at other grids (resized embedding)', async () => {
  // 12x12 -> 3x3 patches (trained), 20x20 -> 5x5, 8x8 -> 2x2, 16x24 -> 4x6 (not square)
  const r = await compare(vitLike(), [
    [12, 12],
    [20, 20],
    [8, 8],
    [16, 24],
  ]);
  console.log(`vit-like onnx vs tfjs: ${r.join(', ')}`);
});

withOrt('Swin ops export: one model at exact, odd and smaller-than-window sizes (padding, shift rule, mask)', async () => {
  // patch maps 6x6 (exact), 5x7 (padded, shifted), 2x3 (below the window: shifts dropped), 3x9 (one axis dropped)
  const r = await compare(swinLike(), [
    [12, 12],
    [10, 14],
    [4, 6],
    [6, 18],
  ]);
  console.log(`swin-like onnx vs tfjs: ${r.join(', ')}`);
});

it('a shift of a whole window or more is refused with E_ONNX_UNSUPPORTED (the tfjs engine runs it)', () => {
  const b = new GraphBuilder();
  b.attention(b.input(4), 'odd', { heads: 2, params: 'qkv', window: 2, shift: 2, relativePositionBias: true });
  const g = b.build();
  expect(() => exportGraphOnnx(g, randomWeights(g, 1), [{ name: 'y', node: g.output }])).toThrow(
    expect.objectContaining({
      code: 'E_ONNX_UNSUPPORTED',
      message: expect.stringMatching(/attention odd .*shift 2x2 is not below window 2x2/),
    }),
  );
});

withOrt("the 'nhwc' layout gives a token row as [N, 1, 1 + h*w, C], as the tfjs executor", async () => {
  const net = vitLike();
  const sd = randomWeights(net.g, 2);
  const m = exportGraphOnnx(net.g, sd, net.outs, { layout: 'nhwc' });
  const o = ort();
  const s = await o.InferenceSession.create(m.bytes, sessionOptions(1));
  try {
    const nchw = randomInput([1, 3, 16, 20], 4);
    const ref = runTfjs(
      net.g,
      sd,
      net.outs.map((q) => q.node),
      nchw,
      [1, 3, 16, 20],
    );
    const nhwc = tf.tidy(() => tf.transpose(tf.tensor4d(nchw, [1, 3, 16, 20]), [0, 2, 3, 1]).dataSync() as Float32Array);
    const res = await s.run({ [m.inputName]: new o.Tensor('float32', nhwc, [1, 16, 20, 3]) });
    expect([...res.row.dims]).toEqual([1, 1, 21, 8]);
    const want = tf.tidy(
      () =>
        tf.transpose(tf.tensor4d(ref[0].data, ref[0].shape as [number, number, number, number]), [0, 2, 3, 1]).dataSync() as Float32Array,
    );
    expect(relErr(res.row.data as Float32Array, want).rel).toBeLessThan(1e-5);
  } finally {
    await s.release();
  }
});
