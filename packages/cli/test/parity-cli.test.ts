/**
 * `dpl features` end to end on torchvision-made weights, at input sizes the backbone parity
 * tests do not use: the CLI's files equal torchvision's features.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readNpy } from '@dpl/core';
import { relativeMaxError, torchAvailable, torchFixture } from '../../../tools/parity/fixture';
import { dpl, tmpDir } from './helpers';

process.env.DPL_BACKEND = 'wasm';
const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED CLI parity: ${torch.reason}`);
const maybe = torch.ok ? it : it.skip;

maybe.each([
  ['vgg16', [3, 8, 15, 29], [50, 83] as [number, number]],
  ['vgg16_bn', [5, 12, 22, 42], [97, 61] as [number, number]],
])('dpl features %s matches torchvision at %j, input %j', async (model, indices, [h, w]) => {
  const fx = torchFixture({ model, indices, sizes: [[h, w]], batch: 1 });
  const out = tmpDir();
  const r = await dpl([
    'features',
    '--backbone',
    model,
    '--weights',
    fx.weights,
    '--input',
    fx.input(h, w),
    '--points',
    indices.join(','),
    '--normalize',
    'none',
    '--out',
    out,
    '--json',
  ]);
  expect(r.err).not.toMatch(/error/);
  expect(r.code).toBe(0);
  const res = r.json<{ weights: { kind: string; sha256: string }; outputs: { point: string; file: string }[] }>();
  expect(res.weights.kind).toBe('pretrained');
  expect(res.weights.sha256).toMatch(/^[0-9a-f]{64}$/);
  const lines: string[] = [];
  res.outputs.forEach((o, i) => {
    const ours = readNpy(fs.readFileSync(o.file), o.file);
    const ref = readNpy(fs.readFileSync(fx.feature(h, w, indices[i])), 'ref');
    expect(ours.shape).toEqual(ref.shape);
    const e = relativeMaxError(ours.data, ref.data);
    lines.push(`${model} ${o.point} @${h}x${w}: rel ${e.rel.toExponential(2)}`);
    expect(e.rel).toBeLessThanOrEqual(1e-4);
  });
  console.log(lines.join('\n'));
  expect(path.basename(res.outputs[0].file)).toMatch(/\.npy$/);
});
