/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness, addressed by torchvision module names
 * (forward hooks): the four default points and the head conv (features.N+1, which runs every
 * block). mobilenet_v3_small by default (it also carries the checkpoint-format and onnx checks);
 * mobilenet_v3_large, the same code with another table, with DPL_PARITY_FULL=1.
 */
import { initBackend } from '@dpl/core';
import { backboneParity } from '@dpl/core/testkit';
import { mobilenetBackbones } from '../src/mobilenet';

beforeAll(async () => {
  await initBackend('wasm');
});

const cases = backboneParity({
  backbones: mobilenetBackbones(),
  points: (b) => [...b.resolvePoints('paper').map((p) => p.name), 'head'],
  quick: (b) => b.id === 'mobilenet_v3_small',
  slowReason: 'mobilenet_v3_large shares the code of mobilenet_v3_small',
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
