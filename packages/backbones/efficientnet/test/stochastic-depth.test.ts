import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mulberry32, type FeatureExtractor } from '@dpl/core';
import { efficientnetBackbones } from '../src/efficientnet';

// The loss network in train mode (docs/PROTOCOL.md, "Deviations": lossNetworkMode) runs
// EfficientNet's stochastic depth as torchvision's StochasticDepth(p, 'row') does in train mode.
const b0 = efficientnetBackbones().find((b) => b.id === 'efficientnet_b0')!;

let net: FeatureExtractor;
beforeAll(async () => {
  await initBackend('wasm');
  net = b0.build({ seed: 3 });
});
afterAll(() => net.dispose());

const run = async (x: tf.Tensor4D, opts: Parameters<FeatureExtractor['extract']>[2]): Promise<Float32Array> => {
  const out = net.extract(x, ['stage4'], opts);
  const v = (await out.get('stage4')!.data()) as Float32Array;
  tf.dispose([...out.values()]);
  return v;
};

describe('EfficientNet stochastic depth', () => {
  it('marks every residual sum with torchvision 0.14 drop probabilities (0.2 * block / 16)', () => {
    // /usr/bin/python3: [(n, m.p) for n, m in torchvision.models.efficientnet_b0().named_modules()
    //   if type(m).__name__ == 'StochasticDepth'], kept only for blocks with a residual connection
    const drops = b0
      .graph()
      .nodes.filter((n) => n.op.kind === 'add')
      .map((n) => (n.op as { dropPath?: number }).dropPath ?? 0);
    const expected = [2, 4, 6, 7, 9, 10, 12, 13, 14].map((j) => (0.2 * j) / 16);
    expect(drops.length).toBe(expected.length);
    drops.forEach((d, i) => expect(d).toBeCloseTo(expected[i], 12));
  });

  it('is off in eval mode and without a random source, active and seeded in train mode', async () => {
    const x = tf.randomUniform([4, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const evalA = await run(x, { batchNorm: 'eval', dropPathRandom: mulberry32(1) });
    const evalB = await run(x, { batchNorm: 'eval' });
    expect(Array.from(evalA)).toEqual(Array.from(evalB));
    const trainNoDrop = await run(x, { batchNorm: 'train' });
    // a source that drops every branch (random() >= 1 - p always) vs one that keeps every branch
    const dropAll = await run(x, { batchNorm: 'train', dropPathRandom: () => 0.999999 });
    const keepAll = await run(x, { batchNorm: 'train', dropPathRandom: () => 0 });
    const maxDiff = (a: Float32Array, c: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - c[i])), 0);
    expect(maxDiff(dropAll, trainNoDrop)).toBeGreaterThan(1e-3);
    // kept branches are scaled by 1 / (1 - p), so even keeping all differs from no stochastic depth
    expect(maxDiff(keepAll, trainNoDrop)).toBeGreaterThan(1e-4);
    const seededA = await run(x, { batchNorm: 'train', dropPathRandom: mulberry32(5) });
    const seededB = await run(x, { batchNorm: 'train', dropPathRandom: mulberry32(5) });
    expect(Array.from(seededA)).toEqual(Array.from(seededB));
    x.dispose();
  });
});
