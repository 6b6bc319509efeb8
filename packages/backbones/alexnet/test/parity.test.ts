/**
 * Parity with torchvision: AlexNet's four paper points and the final pool, at an even and an odd
 * input size, with seeded random weights. Criterion: max |ours - torch| <= 1e-4 * max |torch|.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readNpy, readWeights } from '@dpl/core';
import { relativeMaxError, torchAvailable, torchFixture } from '../../../../tools/parity/fixture';
import { alexnetBackbones } from '../src/alexnet';

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED AlexNet parity tests: ${torch.reason}`);
const maybe = torch.ok ? describe : describe.skip;

const SIZES: [number, number][] = [
  [64, 64],
  [67, 75],
];

maybe('AlexNet parity with torchvision', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const b of alexnetBackbones()) {
    it(`${b.id}`, async () => {
      const points = [...b.points().filter((p) => p.paper), b.point('pool5')];
      // the classifier (234 MB of fully connected weights) is left out of the fixture checkpoint
      const fx = torchFixture({ model: b.id, indices: points.map((p) => p.studyIndex!), sizes: SIZES });
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
            report.push(`${b.id} ${p.name}@${h}x${w}: rel ${err.rel.toExponential(2)} (max abs ${err.maxAbs.toExponential(2)})`);
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
