/**
 * The analyser on transformer graphs (see attentionField in src/graph/transformer-ops.ts): the
 * receptive field it reports for a chain of window attentions is the extent of input positions
 * one output really depends on (measured by gradients), global attention's is Infinity, and a
 * token map's stride is the patch size.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '../../src/gradients';
import { analyse, totalParams } from '../../src/graph/analyse';
import { GraphBuilder } from '../../src/graph/builder';
import { runGraph } from '../../src/graph/executor';
import type { Pair } from '../../src/graph/ir';
import { buildLayers, disposeLayers } from '../../src/graph/layers';
import { randomStateDict } from '../../src/graph/random-init';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

/** Largest extent (along H) of the input rows that one output row's value depends on. */
function measuredField(shifts: number[], window: number, length: number): number {
  const b = new GraphBuilder();
  let x = b.input(4);
  shifts.forEach((s, i) => {
    const win: Pair = [window, 1];
    x = b.attention(x, `a${i}`, { heads: 2, params: 'qkv', window: win, shift: [s, 0], relativePositionBias: true });
  });
  const g = b.build(x);
  const layers = buildLayers(g, randomStateDict(g, 3));
  const input = tf.randomNormal([1, length, 1, 4], 0, 1, 'float32', 7) as tf.Tensor4D;
  let widest = 0;
  for (let p = 0; p < length; p++) {
    const grad = tf.grad((xi: tf.Tensor) => {
      const [y] = runGraph(g, layers, xi as tf.Tensor4D, [g.output]);
      return tf.sum(tf.slice(y, [0, p, 0, 0], [1, 1, 1, 4]));
    })(input);
    const gv = grad.dataSync();
    grad.dispose();
    // masked pairs get exp(-100)-small weights, not zero: count only real dependence
    const rows = Array.from({ length }, (_, r) => Math.max(...Array.from(gv.subarray(r * 4, r * 4 + 4), Math.abs)));
    const dep = rows.map((v, r) => (v > 1e-12 ? r : -1)).filter((r) => r >= 0);
    widest = Math.max(widest, dep[dep.length - 1] - dep[0] + 1);
  }
  input.dispose();
  disposeLayers(layers);
  return widest;
}

function analysedField(shifts: number[], window: number): number {
  const b = new GraphBuilder();
  let x = b.input(4);
  shifts.forEach((s, i) => {
    x = b.attention(x, `a${i}`, { heads: 2, params: 'qkv', window: [window, 1], shift: [s, 0], relativePositionBias: true });
  });
  const g = b.build(x);
  return (analyse(g, [g.output]).get(g.output) as { receptiveField: number }).receptiveField;
}

it("window attention's receptive field is what Swin's alternating W/SW chain depends on", () => {
  for (const shifts of [[0], [0, 2], [0, 2, 0]]) {
    const want = measuredField(shifts, 4, 16);
    expect({ shifts, rf: analysedField(shifts, 4) }).toEqual({ shifts, rf: want });
  }
  expect(analysedField([0, 2, 0], 4)).toBe(12);
});

it('global attention sees the whole input; a token map keeps the patch stride; parameters are counted', () => {
  const b = new GraphBuilder();
  const img = b.input(3);
  const patches = b.conv(img, 'conv_proj', { out: 8, k: 4, stride: 4 });
  const row = b.posEmbed(b.classToken(patches, 'class_token'), patches, 'pos', 4);
  const att = b.attention(row, 'sa', { heads: 2, params: 'mha' });
  const map = b.tokensToMap(att, patches);
  const mapBefore = b.tokensToMap(row, patches);
  const g = b.build(map);
  const a = analyse(g, [row.id, att.id, map.id, mapBefore.id]);
  expect(a.get(row.id)).toMatchObject({ stride: 4, receptiveField: 4 });
  expect(a.get(mapBefore.id)).toMatchObject({ stride: 4, receptiveField: 4 });
  expect(a.get(att.id)).toMatchObject({ stride: 4, receptiveField: Infinity });
  expect(a.get(map.id)).toMatchObject({ stride: 4, receptiveField: Infinity, channels: 8 });
  const conv = 8 * 3 * 16 + 8;
  const tokens = 8 + 17 * 8;
  const attention = 3 * 8 * 8 + 3 * 8 + 8 * 8 + 8;
  expect(totalParams(g)).toBe(conv + tokens + attention);
});
