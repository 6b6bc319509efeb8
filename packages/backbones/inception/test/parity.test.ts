/**
 * Parity with torchvision: GoogLeNet and Inception v3, every paper point plus the end of each
 * graph, at an even and an odd input size, with seeded random weights and randomised BatchNorm
 * statistics. The checkpoint keeps fc (dropPrefixes: []) so the ignore list is exercised.
 * Criterion: max |ours - torch| <= 1e-4 * max |torch|.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readNpy, readWeights } from '@dpl/core';
import { relativeMaxError, torchAvailable, torchFixture } from '../../../../tools/parity/fixture';
import { inceptionBackbones } from '../src/inception';

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED Inception parity tests: ${torch.reason}`);
const maybe = torch.ok ? describe : describe.skip;

/**
 * googlenet: 64 and 67x79 between them make every ceil-mode max pool hang over the input edge
 * (67x79: all four pools on the width); 15x17 is torchvision's minimum, where maxpool3 and
 * maxpool4 get inputs smaller than their kernels. inception_v3 needs >= 75 px for Mixed_7a..7c.
 */
const SIZES: Record<string, [number, number][]> = {
  googlenet: [
    [64, 64],
    [67, 79],
    [15, 17],
  ],
  inception_v3: [
    [80, 80],
    [83, 91],
  ],
};
/** Beyond the paper points: the graph's last block (Mixed_7c covers InceptionD and E). */
const EXTRA: Record<string, string[]> = { googlenet: [], inception_v3: ['Mixed_6a', 'Mixed_7c'] };

maybe('Inception parity with torchvision', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const b of inceptionBackbones()) {
    it(`${b.id}`, async () => {
      const sizes = SIZES[b.id];
      const points = [...b.points().filter((p) => p.paper), ...EXTRA[b.id].map((n) => b.point(n))];
      const fx = torchFixture({ model: b.id, indices: points.map((p) => p.studyIndex!), sizes, dropPrefixes: [] });
      const extractor = b.build({ weights: await readWeights(fx.weights), weightsSource: { file: fx.weights } });
      const report: string[] = [];
      try {
        for (const [h, w] of sizes) {
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
              `${b.id} ${p.name}@${h}x${w} [${ref.shape.join('x')}]: max abs ${err.maxAbs.toExponential(2)}, rel ${err.rel.toExponential(2)}`,
            );
            ours.dispose();
            expect(err.rel).toBeLessThanOrEqual(1e-4);
          }
          tf.dispose([x, ...feats.values()]);
        }
      } finally {
        extractor.dispose();
        console.log(report.join('\n'));
      }
    });
  }
});
