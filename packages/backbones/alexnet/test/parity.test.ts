/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/** Parity with torchvision through the test kit's harness: AlexNet's four paper points and the final pool. */
import { initBackend } from '@dpl/core';
import { backboneParity } from '@dpl/core/testkit';
import { alexnetBackbones } from '../src/alexnet';

beforeAll(async () => {
  await initBackend('wasm');
});

// the classifier (234 MB of fully connected weights) is left out of the fixture checkpoint
const cases = backboneParity({
  backbones: alexnetBackbones(),
  points: (b) => [...b.resolvePoints('paper').map((p) => p.name), 'pool5'],
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
