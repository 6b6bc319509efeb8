import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import { defineBackbone } from '../../src/backbone/define';
import { randomStateDict } from '../../src/graph/random-init';
import { checkStateDict, assertBindable } from '../../src/graph/params';
import { isDplError } from '../../src/errors';

/** Three conv blocks; each conv is one Conv2D kernel call, so profiles count depth. */
const chain = defineBackbone({
  id: 'chain',
  family: 'test',
  metadata: { batchNorm: true, normalization: 'none', inStudy: false },
  graph: (g) => {
    let x = g.input(3);
    for (let i = 0; i < 3; i++) {
      x = g.conv(x, `c${i}`, { out: 4, k: 3, pad: i === 0 ? 0 : 1, stride: i === 0 ? 1 : 2 });
      x = g.batchNorm(x, `bn${i}`);
      g.tap(`t${i}`, g.relu(x), { studyIndex: i });
    }
  },
  ignorePrefixes: ['head.'],
});

const convCalls = async (f: () => tf.TensorContainer) => {
  const info = await tf.profile(f);
  tf.dispose(info.result as tf.Tensor[]);
  return info.kernels.filter((k) => k.name === 'Conv2D').length;
};

beforeAll(async () => {
  await initBackend('wasm');
});

describe('graph executor', () => {
  it('runs only as deep as the deepest requested point, once for all points', async () => {
    const ex = chain.build({ seed: 1 });
    const x = tf.randomUniform([1, 16, 16, 3]) as tf.Tensor4D;
    expect(await convCalls(() => [...ex.extract(x, ['t0']).values()])).toBe(1);
    expect(await convCalls(() => [...ex.extract(x, ['t1']).values()])).toBe(2);
    expect(await convCalls(() => [...ex.extract(x, ['t0', 't1', 't2']).values()])).toBe(3);
    const m = ex.extract(x, ['t2', '0']);
    expect([...m.keys()]).toEqual(['t2', 't0']);
    expect(m.get('t2')!.shape).toEqual([1, 4, 4, 4]);
    tf.dispose([x, ...m.values()]);
    ex.dispose();
  });

  it('tensor count does not grow across repeated extractions and gradients', async () => {
    const ex = chain.build({ seed: 2 });
    const x = tf.randomUniform([2, 20, 20, 3]) as tf.Tensor4D;
    const step = () => {
      tf.dispose([...ex.extract(x, ['t0', 't2']).values()]);
      const g = tf.grad((xi: tf.Tensor) => tf.sum(ex.extract(xi as tf.Tensor4D, ['t2']).get('t2')!))(x);
      g.dispose();
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    ex.dispose();
  });

  it('an input smaller than the deepest point needs is a clear error', () => {
    const ex = chain.build();
    const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    expect(() => ex.extract(x, ['t2'])).toThrow(/input 2x2: is smaller than chain needs for point 't2' \(3x3\)/);
    expect(() => ex.extract(tf.zeros([1, 8, 8, 1]) as tf.Tensor4D, ['t0'])).toThrow(/3 channels/);
    x.dispose();
    ex.dispose();
  });
});

describe('weight binding', () => {
  it('reports every missing, unexpected and mis-shaped key before building', () => {
    const sd = randomStateDict(chain.graph(), 0);
    sd.delete('bn1.running_var');
    sd.set('c2.weight', { dtype: 'float32', shape: [4, 4, 5, 5], data: new Float32Array(400) });
    sd.set('extra.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    sd.set('head.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) }); // ignored prefix
    sd.set('bn0.num_batches_tracked', { dtype: 'int64', shape: [], data: new Float32Array(1) });
    const report = checkStateDict(chain.graph(), sd, (k) => k.startsWith('head.'));
    expect(report.missing.map((p) => p.key)).toEqual(['bn1.running_var']);
    expect(report.unexpected).toEqual(['extra.weight']);
    expect(report.misshaped).toEqual([{ key: 'c2.weight', expected: [4, 4, 3, 3], actual: [4, 4, 5, 5] }]);
    let err: unknown;
    try {
      chain.build({ weights: sd, weightsSource: { file: 'my.pth' } });
    } catch (e) {
      err = e;
    }
    expect(isDplError(err)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toMatch(/my\.pth: is not a chain checkpoint/);
    expect(msg).toMatch(/missing keys \(1\):\n {2}bn1\.running_var \[4\]/);
    expect(msg).toMatch(/c2\.weight: file has \[4, 4, 5, 5\], chain needs \[4, 4, 3, 3\]/);
    expect(msg).toMatch(/unexpected keys \(1\):\n {2}extra\.weight/);
    expect(() => assertBindable('x', 'chain', { missing: [], unexpected: [], misshaped: [] })).not.toThrow();
  });

  it('seeded random weights are reproducible and say so', () => {
    const a = randomStateDict(chain.graph(), 5).get('c1.weight')!.data;
    const b = randomStateDict(chain.graph(), 5).get('c1.weight')!.data;
    const c = randomStateDict(chain.graph(), 6).get('c1.weight')!.data;
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const ex = chain.build({ seed: 5 });
    expect(ex.provenance).toEqual({ kind: 'random', seed: 5 });
    ex.dispose();
  });
});
