/**
 * Parity with torchvision: every ResNet variant at an even and an odd input size, with seeded
 * random weights and randomised BatchNorm statistics. Study members: every top-level child
 * (resnet18) or the paper points; the others: the stem ReLU and the stage outputs layer1, layer3,
 * layer4 (every residual block feeds these). Criterion: max |ours - torch| <= 1e-4 * max |torch|.
 *
 * The default run covers every code path: BasicBlock (resnet18, resnet34), Bottleneck (resnet50)
 * and grouped Bottleneck (resnext50_32x4d). The deep / wide siblings only repeat those blocks
 * (their key shapes, conv and parameter counts are checked against torchvision in resnet.test.ts)
 * but carry 420M parameters between them, minutes of weight reading and binding on 2 cores: they
 * and a legacy-format checkpoint run with DPL_PARITY_FULL=1.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readNpy, readWeights, type ExtractionPoint } from '@dpl/core';
import { relativeMaxError, torchAvailable, torchFixture } from '../../../../tools/parity/fixture';
import { resnetBackbones } from '../src/resnet';

const FULL = process.env.DPL_PARITY_FULL === '1';
const HEAVY = new Set(['resnet101', 'resnet152', 'resnext101_32x8d', 'wide_resnet50_2', 'wide_resnet101_2']);

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED ResNet parity tests: ${torch.reason}`);
const maybe = torch.ok ? describe : describe.skip;

// small (resnet152 and the wide / 32x8d models are deep) and not multiples of 32 for the odd one
const SIZES: [number, number][] = [
  [64, 64],
  [65, 71],
];

function pointsFor(b: ReturnType<typeof resnetBackbones>[number]): ExtractionPoint[] {
  const children = b.points().filter((p) => p.studyIndex !== undefined);
  if (b.id === 'resnet18') return children;
  if (b.metadata.inStudy) return children.filter((p) => p.paper);
  return children.filter((p) => ['relu', 'layer1', 'layer3', 'layer4'].includes(p.name));
}

maybe('ResNet parity with torchvision', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const cases = resnetBackbones().map((b) => ({ b, legacy: false, heavy: HEAVY.has(b.id) }));
  // several V1 files predate torch 1.6: also bind a legacy-format (non-zip) checkpoint once
  cases.splice(1, 0, { b: cases[0].b, legacy: true, heavy: true });
  const skipped = cases.filter((c) => c.heavy && !FULL).map((c) => `${c.b.id}${c.legacy ? ' (legacy)' : ''}`);
  if (skipped.length)
    console.warn(`SKIPPED ResNet parity for ${skipped.join(', ')}: set DPL_PARITY_FULL=1 to run them (slow: large weights)`);

  for (const { b, legacy, heavy } of cases) {
    (heavy && !FULL ? it.skip : it)(`${b.id}${legacy ? ' (legacy .pth format)' : ''}`, async () => {
      const points = pointsFor(b);
      const fx = torchFixture({ model: b.id, indices: points.map((p) => p.studyIndex!), sizes: SIZES, legacy, dropPrefixes: ['fc.'] });
      const extractor = b.build({ weights: await readWeights(fx.weights), weightsSource: { file: fx.weights } });
      const report: string[] = [];
      try {
        for (const [h, w] of SIZES) {
          const x = await readInputTensor(fx.input(h, w));
          const feats = extractor.extract(
            x,
            points.map((p) => p.name),
          );
          for (const p of points) {
            const ref = readNpy(fs.readFileSync(fx.feature(h, w, p.studyIndex!)), 'ref');
            const ours = tf.transpose(feats.get(p.name)!, [0, 3, 1, 2]);
            expect(ours.shape).toEqual(ref.shape);
            const err = relativeMaxError((await ours.data()) as Float32Array, ref.data);
            report.push(
              `${b.id}${legacy ? ' (legacy)' : ''} ${p.name}@${h}x${w}: rel ${err.rel.toExponential(2)} (max |ref| ${err.maxRef.toPrecision(3)})`,
            );
            expect(err.rel).toBeLessThanOrEqual(1e-4);
            ours.dispose();
          }
          tf.dispose([x, ...feats.values()]);
        }
      } finally {
        extractor.dispose();
      }
      console.log(report.join('\n'));
    });
  }
});
