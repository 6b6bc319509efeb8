/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness: squeezenet1_1's four paper points and
 * squeezenet1_0's block boundaries, at an even and an odd input size (67x75 makes the ceil-mode
 * pools hang over the edge); then the classifier conv (classifier.1 + ReLU), which the fixture
 * script (features only) does not run, against torch's conv2d on the torch fire9 output.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '@dpl/core';
import { backboneParity, referencePython, type Fixture, type Size } from '@dpl/core/testkit';
import { squeezenetBackbones } from '../src/squeezenet';

/** Block boundaries checked for the variant outside the study. */
const EXTRA_POINTS = ['relu1', 'fire2', 'pool4', 'fire9'];

const classifierRef = (fx: Fixture, h: number, w: number) => path.join(fx.dir, `classifier1_${h}x${w}.npy`);

/** torch's relu(conv2d(fire9, classifier.1)) for each size, cached next to the fixture. */
function writeClassifierReference(fx: Fixture, fire9Index: number, sizes: Size[]): void {
  if (sizes.every(([h, w]) => fs.existsSync(classifierRef(fx, h, w)))) return;
  const script = [
    'import sys, numpy as np, torch',
    'sd = torch.load(sys.argv[1])',
    'for src, dst in zip(sys.argv[2::2], sys.argv[3::2]):',
    '    x = torch.from_numpy(np.load(src))',
    "    y = torch.relu(torch.nn.functional.conv2d(x, sd['classifier.1.weight'], sd['classifier.1.bias']))",
    '    np.save(dst, y.numpy())',
  ].join('\n');
  const args = sizes.flatMap(([h, w]) => [fx.feature(h, w, fire9Index), classifierRef(fx, h, w)]);
  const r = spawnSync(referencePython().python, ['-c', script, fx.weights, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`classifier reference failed: ${r.stderr}`);
}

beforeAll(async () => {
  await initBackend('wasm');
});

const cases = backboneParity({
  backbones: squeezenetBackbones(),
  points: (b) => (b.metadata.inStudy ? b.resolvePoints('paper').map((p) => p.name) : EXTRA_POINTS),
  // the study's networks always; their siblings with DPL_PARITY_FULL=1 (CI time: every fixture is a torch run)
  quick: (b) => b.metadata.inStudy,
  // keep classifier.1 in the checkpoint: the graph reads it (nothing is ignored)
  dropPrefixes: [],
  extra: {
    points: () => ['relu10'],
    prepare: (b, fx, sizes) => writeClassifierReference(fx, b.point('fire9').studyIndex!, sizes),
    check: async (c) => c.compare('relu10', c.features.get('relu10')!, c.npy(classifierRef(c.fixture, ...c.size))),
  },
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
