/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * Parity with torchvision through the test kit's harness. Study members: every top-level child
 * (resnet18) or the paper points; the others: the stem ReLU and the stage outputs layer1, layer3,
 * layer4 (every residual block feeds these). Sizes are small (resnet152 and the wide / 32x8d models
 * are deep) and the odd one is not a multiple of 32.
 *
 * The default run covers every code path: BasicBlock (resnet18, resnet34), Bottleneck (resnet50)
 * and grouped Bottleneck (resnext50_32x4d). The deep / wide siblings only repeat those blocks
 * (their key shapes, conv and parameter counts are checked against torchvision in resnet.test.ts)
 * but carry 420M parameters between them, minutes of weight reading and binding on 2 cores.
 */
import { initBackend } from '@dpl/core';
import { backboneParity } from '@dpl/core/testkit';
import { resnetBackbones } from '../src/resnet';

const HEAVY = new Set(['resnet101', 'resnet152', 'resnext101_32x8d', 'wide_resnet50_2', 'wide_resnet101_2']);

beforeAll(async () => {
  await initBackend('wasm');
});

const cases = backboneParity({
  backbones: resnetBackbones(),
  points: (b) => {
    const children = b.points().filter((p) => p.studyIndex !== undefined);
    if (b.id === 'resnet18') return children.map((p) => p.name);
    if (b.metadata.inStudy) return children.filter((p) => p.paper).map((p) => p.name);
    return ['relu', 'layer1', 'layer3', 'layer4'];
  },
  sizes: [
    [64, 64],
    [65, 71],
  ],
  quick: (b) => !HEAVY.has(b.id),
  slowReason: 'slow: large weights',
  dropPrefixes: ['fc.'],
});
for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, c.timeout);
