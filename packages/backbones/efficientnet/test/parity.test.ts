/**
 * Parity with torchvision: every EfficientNet variant at an even and an odd input size, with
 * seeded random weights and randomised BatchNorm statistics. B0 and B7 (the study's members):
 * every paper point plus the head (features.8); B1..B6 share the code, so one middle stage and
 * the head each (the head runs every block, the depthwise convs and BN eps of the variant).
 * Criterion: max |ours - torch| <= 1e-4 * max |torch|.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readNpy, readWeights } from '@dpl/core';
import { relativeMaxError, torchAvailable, torchFixture } from '../../../../tools/parity/fixture';
import { efficientnetBackbones } from '../src/efficientnet';

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED EfficientNet parity tests: ${torch.reason}`);
const maybe = torch.ok ? describe : describe.skip;

// small sizes keep B7 cheap; 67x75 is odd and not a multiple of 32 (stride-2 rounding)
const SIZES: [number, number][] = [
  [64, 64],
  [67, 75],
];

maybe('EfficientNet parity with torchvision', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  // the study's networks always; their siblings with DPL_PARITY_FULL=1 (CI time: every fixture is a torch run)
  const FULL = process.env.DPL_PARITY_FULL === '1';
  const nets = efficientnetBackbones().filter((b) => FULL || b.metadata.inStudy);
  const skipped = efficientnetBackbones()
    .filter((b) => !FULL && !b.metadata.inStudy)
    .map((b) => b.id);
  if (skipped.length) console.warn(`SKIPPED efficientnet parity for ${skipped.join(', ')}: set DPL_PARITY_FULL=1 to run them`);
  for (const b of nets) {
    it(`${b.id}`, async () => {
      const paper = b.points().filter((p) => p.paper);
      const names = paper.length ? [...paper.map((p) => p.name), 'head'] : ['stage3', 'head'];
      const points = names.map((n) => b.point(n));
      const t0 = Date.now();
      const fx = torchFixture({ model: b.id, indices: points.map((p) => p.studyIndex!), sizes: SIZES });
      const t1 = Date.now();
      const extractor = b.build({ weights: await readWeights(fx.weights), weightsSource: { file: fx.weights } });
      const t2 = Date.now();
      const report: string[] = [];
      try {
        for (const [h, w] of SIZES) {
          const x = await readInputTensor(fx.input(h, w));
          const feats = extractor.extract(x, names);
          for (const p of points) {
            const ref = readNpy(fs.readFileSync(fx.feature(h, w, p.studyIndex!)), 'ref');
            const ours = tf.transpose(feats.get(p.name)!, [0, 3, 1, 2]);
            expect(ours.shape).toEqual(ref.shape);
            const err = relativeMaxError((await ours.data()) as Float32Array, ref.data);
            report.push(
              `${b.id} ${p.name} (features.${p.studyIndex})@${h}x${w}: rel ${err.rel.toExponential(2)} (max abs ${err.maxAbs.toExponential(2)}, max ref ${err.maxRef.toPrecision(3)})`,
            );
            expect(err.rel).toBeLessThanOrEqual(1e-4);
            ours.dispose();
          }
          tf.dispose([x, ...feats.values()]);
        }
      } finally {
        extractor.dispose();
      }
      report.push(`${b.id}: fixture ${t1 - t0} ms, weights load ${t2 - t1} ms, forward+compare ${Date.now() - t2} ms`);
      console.log(report.join('\n'));
    });
  }
});
