/**
 * Parity with torchvision: squeezenet1_1's four paper points and squeezenet1_0's block
 * boundaries, at an even and an odd input size (67x75 makes the ceil-mode pools hang over the
 * edge), with seeded random weights; then the classifier conv (classifier.1 + ReLU), which the
 * fixture script (features only) does not run, against torch's conv2d on the torch fire9 output.
 * Criterion: max |ours - torch| <= 1e-4 * max |torch|.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readInputTensor, readNpy, readWeights } from '@dpl/core';
import { PYTHON, relativeMaxError, torchAvailable, torchFixture, type Fixture } from '../../../../tools/parity/fixture';
import { squeezenetBackbones } from '../src/squeezenet';

const torch = torchAvailable();
if (!torch.ok) console.warn(`SKIPPED SqueezeNet parity tests: ${torch.reason}`);
const maybe = torch.ok ? describe : describe.skip;

const SIZES: [number, number][] = [
  [64, 64],
  [67, 75],
];

/** Block boundaries checked for the variant outside the study. */
const EXTRA_POINTS = ['relu1', 'fire2', 'pool4', 'fire9'];

/** torch's relu(conv2d(fire9, classifier.1)) for each size, cached next to the fixture. */
function classifierReference(fx: Fixture, fire9Index: number): (h: number, w: number) => string {
  const out = (h: number, w: number) => path.join(fx.dir, `classifier1_${h}x${w}.npy`);
  if (!SIZES.every(([h, w]) => fs.existsSync(out(h, w)))) {
    const script = [
      'import sys, numpy as np, torch',
      'sd = torch.load(sys.argv[1])',
      'for src, dst in zip(sys.argv[2::2], sys.argv[3::2]):',
      '    x = torch.from_numpy(np.load(src))',
      "    y = torch.relu(torch.nn.functional.conv2d(x, sd['classifier.1.weight'], sd['classifier.1.bias']))",
      '    np.save(dst, y.numpy())',
    ].join('\n');
    const args = SIZES.flatMap(([h, w]) => [fx.feature(h, w, fire9Index), out(h, w)]);
    const r = spawnSync(PYTHON, ['-c', script, fx.weights, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`classifier reference failed: ${r.stderr}`);
  }
  return out;
}

maybe('SqueezeNet parity with torchvision', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  // the study's networks always; their siblings with DPL_PARITY_FULL=1 (CI time: every fixture is a torch run)
  const FULL = process.env.DPL_PARITY_FULL === '1';
  const nets = squeezenetBackbones().filter((b) => FULL || b.metadata.inStudy);
  const skipped = squeezenetBackbones()
    .filter((b) => !FULL && !b.metadata.inStudy)
    .map((b) => b.id);
  if (skipped.length) console.warn(`SKIPPED squeezenet parity for ${skipped.join(', ')}: set DPL_PARITY_FULL=1 to run them`);
  for (const b of nets) {
    it(`${b.id}`, async () => {
      const paper = b.points().filter((p) => p.paper);
      const points = paper.length ? paper : EXTRA_POINTS.map((n) => b.point(n));
      const fire9 = b.point('fire9');
      // keep classifier.1 in the checkpoint: the graph reads it (nothing is ignored)
      const fx = torchFixture({ model: b.id, indices: points.map((p) => p.studyIndex!), sizes: SIZES, dropPrefixes: [] });
      const headRef = classifierReference(fx, fire9.studyIndex!);
      const extractor = b.build({ weights: await readWeights(fx.weights), weightsSource: { file: fx.weights } });
      const report: string[] = [];
      const compare = async (name: string, h: number, w: number, ourNhwc: tf.Tensor4D, refFile: string) => {
        const ref = readNpy(fs.readFileSync(refFile), 'ref');
        const ours = tf.transpose(ourNhwc, [0, 3, 1, 2]);
        expect(ours.shape).toEqual(ref.shape);
        const err = relativeMaxError((await ours.data()) as Float32Array, ref.data);
        ours.dispose();
        report.push(`${b.id} ${name}@${h}x${w}: rel ${err.rel.toExponential(2)} (max abs ${err.maxAbs.toExponential(2)})`);
        expect(err.rel).toBeLessThanOrEqual(1e-4);
      };
      try {
        for (const [h, w] of SIZES) {
          const x = await readInputTensor(fx.input(h, w));
          const feats = extractor.extract(x, [...points.map((p) => p.name), 'relu10']);
          for (const p of points) await compare(p.name, h, w, feats.get(p.name)!, fx.feature(h, w, p.studyIndex!));
          await compare('relu10', h, w, feats.get('relu10')!, headRef(h, w));
          tf.dispose([x, ...feats.values()]);
        }
      } finally {
        extractor.dispose();
      }
      console.log(report.join('\n'));
    });
  }
});
