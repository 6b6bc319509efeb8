/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Pooling and padding semantics of the exported model against the tfjs executor (which matches
 * PyTorch, see test/ops): ceil_mode (the last window must start inside the input or the left
 * padding), count_include_pad with and without overhang, padding never winning a max, and the
 * other non-parametric ops, at odd sizes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import { GraphBuilder, type PoolOptions } from '../../src/graph/builder';
import { poolOut } from '../../src/graph/shapes';
import { describeOrt, randomInput, relErr, runOnnx, runTfjs } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

const POOLS: PoolOptions[] = [];
for (const k of [2, 3])
  for (const stride of [1, 2, 3])
    for (const pad of [0, 1])
      for (const ceil of [false, true])
        for (const countIncludePad of [true, false]) if (pad * 2 <= k) POOLS.push({ k, stride, pad, ceil, countIncludePad });

const SIZES: [number, number][] = [
  [5, 6],
  [7, 9],
  [8, 8],
  [10, 13],
];

/** Cases where PyTorch's ceil_mode rule drops a window that would start in the right padding. */
function ceilRuleCases(): number {
  let n = 0;
  for (const o of POOLS)
    for (const [h, w] of SIZES)
      for (const size of [h, w]) {
        const k = o.k as number;
        const s = o.stride as number;
        const p = o.pad as number;
        if (o.ceil && poolOut(size, k, s, p, true) < Math.ceil((size + 2 * p - k) / s) + 1) n++;
      }
  return n;
}

it('the settings include windows that the ceil_mode rule drops', () => {
  expect(ceilRuleCases()).toBeGreaterThan(10);
});

describeOrt('ONNX pooling matches the tfjs executor (PyTorch semantics)', () => {
  for (const kind of ['maxPool', 'avgPool'] as const) {
    it(`${kind}: ${POOLS.length} settings x ${SIZES.length} odd sizes`, async () => {
      let worst = 0;
      const g = new GraphBuilder();
      const x = g.input(2);
      const outs = POOLS.map((o, i) => g.tap(`p${i}`, kind === 'maxPool' ? g.maxPool(x, o) : g.avgPool(x, o)));
      const graph = g.build();
      const targets = outs.map((r, i) => ({ name: `p${i}`, node: r.id }));
      for (const [h, w] of SIZES) {
        const shape = [2, 2, h, w];
        const input = randomInput(shape as [number, number, number, number], h * 100 + w);
        const ref = runTfjs(
          graph,
          new Map(),
          targets.map((t) => t.node),
          input,
          shape,
        );
        const got = await runOnnx(graph, new Map(), targets, input, shape);
        POOLS.forEach((o, i) => {
          const what = `${kind} ${JSON.stringify(o)} on ${h}x${w}`;
          expect({ what, shape: got[i].shape }).toEqual({ what, shape: ref[i].shape });
          const e = relErr(got[i].data, ref[i].data);
          worst = Math.max(worst, e.abs);
          if (e.abs > 1e-5) throw new Error(`${what}: max abs diff ${e.abs}`);
        });
      }
      console.log(`${kind}: worst max abs diff ${worst.toExponential(2)} over ${POOLS.length * SIZES.length} cases`);
    });
  }

  it('pad (constant, reflect), affine, activations, add, mul with a 1x1 gate, concat, global pool, flatten, linear', async () => {
    const g = new GraphBuilder();
    const x = g.input(3);
    const pc = g.tap('padc', g.pad(x, [1, 2, 0, 3], 'constant', 0.5));
    const pr = g.tap('padr', g.pad(x, [2, 1, 3, 1], 'reflect'));
    const af = g.tap('affine', g.affine(x, [1, 2, 3], [0.1, -0.2, 0.3]));
    const acts = (['relu', 'relu6', 'silu', 'sigmoid', 'hardswish', 'tanh'] as const).map((k) =>
      g.tap(k, g.act(g.affine(x, [4, 4, 4], [0, 0, 0]), k)),
    );
    const gate = g.act(g.adaptiveAvgPool(x, 1), 'sigmoid');
    const se = g.tap('se', g.mul(x, gate));
    const sum = g.tap('add', g.add2(x, af));
    const cat = g.tap('concat', g.concat([x, se, sum]));
    const gp = g.tap('gap', g.adaptiveAvgPool(cat, 1));
    const fl = g.flatten(gp, 9);
    const lin = g.tap('linear', g.linear(fl, 'fc', 4));
    const graph = g.build();
    const sd = new Map([
      ['fc.weight', { dtype: 'float32' as const, shape: [4, 9], data: randomInput([1, 1, 4, 9], 5) }],
      ['fc.bias', { dtype: 'float32' as const, shape: [4], data: Float32Array.from([1, 2, 3, 4]) }],
    ]);
    const refs = [pc, pr, af, ...acts, se, sum, cat, gp, lin];
    const targets = graph.taps.filter((t) => refs.some((r) => r.id === t.node)).map((t) => ({ name: t.name, node: t.node }));
    const shape = [2, 3, 7, 9];
    const input = randomInput(shape as [number, number, number, number], 3);
    const ref = runTfjs(
      graph,
      sd,
      targets.map((t) => t.node),
      input,
      shape,
    );
    const got = await runOnnx(graph, sd, targets, input, shape);
    const report: string[] = [];
    targets.forEach((t, i) => {
      expect({ t: t.name, shape: got[i].shape }).toEqual({ t: t.name, shape: ref[i].shape });
      const e = relErr(got[i].data, ref[i].data);
      report.push(`${t.name} ${e.rel.toExponential(1)}`);
      expect({ t: t.name, ok: e.rel <= 1e-5 }).toEqual({ t: t.name, ok: true });
    });
    console.log(`ops, max rel diff: ${report.join(', ')}`);
    expect(tf.memory().numTensors).toBeLessThan(50);
  });
});
