/** PyTorch pooling semantics (ceil_mode, padding, count_include_pad, adaptive bins) against torch itself. */
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '../../src/gradients';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type PoolSpec } from '../../src/ops/pool';
import { poolOut } from '../../src/graph/shapes';
import { torchAvailable, PYTHON } from '../../../../tools/parity/fixture';

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED pooling parity: ${torch.reason}`);
const maybe = torch.ok ? it : it.skip;

interface Case {
  kind: 'max' | 'avg';
  size: [number, number];
  k: number;
  s: number;
  p: number;
  ceil: boolean;
  cip?: boolean;
}

const CASES: Case[] = [
  { kind: 'max', size: [13, 13], k: 3, s: 2, p: 0, ceil: true }, // squeezenet / googlenet
  { kind: 'max', size: [14, 15], k: 3, s: 2, p: 0, ceil: true },
  { kind: 'max', size: [15, 15], k: 3, s: 2, p: 1, ceil: true },
  { kind: 'max', size: [11, 10], k: 3, s: 2, p: 1, ceil: false }, // resnet stem
  { kind: 'max', size: [9, 9], k: 2, s: 2, p: 0, ceil: false }, // vgg, odd size
  { kind: 'max', size: [10, 11], k: 3, s: 1, p: 1, ceil: true }, // googlenet branch pool
  { kind: 'avg', size: [9, 10], k: 3, s: 1, p: 1, ceil: false, cip: true }, // inception branch pool
  { kind: 'avg', size: [9, 10], k: 3, s: 1, p: 1, ceil: false, cip: false },
  { kind: 'avg', size: [13, 12], k: 3, s: 2, p: 1, ceil: true, cip: true },
  { kind: 'avg', size: [13, 12], k: 3, s: 2, p: 1, ceil: true, cip: false },
  { kind: 'avg', size: [8, 9], k: 2, s: 2, p: 0, ceil: false, cip: true }, // densenet transition
];

const PY = `
import json, sys, torch, torch.nn.functional as F
cases = json.loads(sys.stdin.read())
out = []
for c in cases:
    x = torch.tensor(c['x'], dtype=torch.float32).reshape(1, c['size'][0], c['size'][1], 2).permute(0, 3, 1, 2)
    if c['kind'] == 'max':
        y = F.max_pool2d(x, c['k'], c['s'], c['p'], ceil_mode=c['ceil'])
    elif c['kind'] == 'avg':
        y = F.avg_pool2d(x, c['k'], c['s'], c['p'], ceil_mode=c['ceil'], count_include_pad=c['cip'])
    else:
        y = F.adaptive_avg_pool2d(x, c['out'])
    out.append({'shape': list(y.shape), 'y': y.permute(0, 2, 3, 1).reshape(-1).tolist()})
print(json.dumps(out))
`;

maybe('max/avg/adaptive pooling equal torch.nn.functional', async () => {
  await tf.setBackend('wasm');
  const adaptive: { kind: 'adaptive'; size: [number, number]; out: [number, number] }[] = [
    { kind: 'adaptive', size: [7, 9], out: [3, 4] },
    { kind: 'adaptive', size: [8, 8], out: [1, 1] },
    { kind: 'adaptive', size: [12, 12], out: [6, 6] },
  ];
  const all = [...CASES, ...adaptive].map((c, i) => {
    const n = c.size[0] * c.size[1] * 2;
    return { ...c, x: Array.from({ length: n }, (_, j) => (Math.sin(j * 12.9898 + i * 78.233) * 43758.5453) % 1) };
  });
  const ref = JSON.parse(execFileSync(PYTHON, ['-c', PY], { input: JSON.stringify(all), encoding: 'utf8' })) as {
    shape: number[];
    y: number[];
  }[];
  all.forEach((c, i) => {
    const x = tf.tensor4d(c.x, [1, c.size[0], c.size[1], 2]);
    let y: tf.Tensor4D;
    if (c.kind === 'adaptive') y = adaptiveAvgPool2d(x, (c as { out: [number, number] }).out);
    else {
      const cc = c as Case;
      const spec: PoolSpec = {
        kernel: [cc.k, cc.k],
        stride: [cc.s, cc.s],
        pad: [cc.p, cc.p],
        ceil: cc.ceil,
        countIncludePad: cc.cip ?? true,
      };
      y = cc.kind === 'max' ? maxPool2d(x, spec) : avgPool2d(x, spec);
      expect([poolOut(cc.size[0], cc.k, cc.s, cc.p, cc.ceil), poolOut(cc.size[1], cc.k, cc.s, cc.p, cc.ceil)]).toEqual(
        ref[i].shape.slice(2),
      );
    }
    expect([y.shape[1], y.shape[2]]).toEqual(ref[i].shape.slice(2));
    const got = y.dataSync();
    const maxDiff = ref[i].y.reduce((m, v, j) => Math.max(m, Math.abs(v - got[j])), 0);
    expect(maxDiff).toBeLessThan(1e-6);
    tf.dispose([x, y]);
  });
});

maybe('pooling is differentiable on wasm (max with -inf padding, avg with divisor map)', async () => {
  await tf.setBackend('wasm');
  const x = tf.randomNormal([2, 11, 11, 3]) as tf.Tensor4D;
  for (const spec of [
    { kernel: [3, 3], stride: [2, 2], pad: [1, 1], ceil: true, countIncludePad: false },
    { kernel: [3, 3], stride: [2, 2], pad: [0, 0], ceil: true, countIncludePad: true },
  ] as PoolSpec[]) {
    for (const f of [maxPool2d, avgPool2d]) {
      const g = tf.grad((xi: tf.Tensor) => tf.sum(f(xi as tf.Tensor4D, spec)))(x);
      const v = await g.data();
      expect(v.every(Number.isFinite)).toBe(true);
      expect(v.some((e) => e !== 0)).toBe(true);
      g.dispose();
    }
  }
  x.dispose();
});
