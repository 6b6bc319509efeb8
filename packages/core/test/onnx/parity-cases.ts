/**
 * The parity check shared by parity-*.test.ts (split in two so jest's workers share the work):
 * the onnx engine equals the tfjs executor (which is parity-tested against torchvision) at a
 * network's four paper points, with seeded random weights and randomised BatchNorm statistics, on
 * a 64x64 input (or the deepest point's minimum). Criterion per point:
 * max |onnx - tfjs| <= 1e-4 * max |tfjs|.
 */
import { initBackend } from '../../src/backend';
import { createInferenceEngine } from '../../src/onnx/engine';
import { describeOrt, randomInput, randomWeightsWithBn, relErr, studyBackbones } from './helpers';

export const STUDY_IDS = [
  'alexnet',
  'densenet121',
  'efficientnet_b0',
  'efficientnet_b7',
  'googlenet',
  'inception_v3',
  'resnet18',
  'resnet50',
  'resnext50_32x4d',
  'squeezenet1_1',
  'vgg11',
  'vgg16',
  'vgg16_bn',
  'vgg19',
];

/** The two halves, balanced by run time (B7 alone is a third of it). */
export const PARITY_HALVES: [string[], string[]] = [
  ['efficientnet_b7', 'alexnet', 'vgg11', 'vgg19', 'squeezenet1_1', 'googlenet', 'resnet18'],
  ['vgg16', 'vgg16_bn', 'densenet121', 'efficientnet_b0', 'inception_v3', 'resnet50', 'resnext50_32x4d'],
];

export function parityCases(ids: string[]): void {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  describeOrt('onnx engine = tfjs executor on the study networks (paper points)', () => {
    for (const id of ids) {
      it(id, async () => {
        const b = studyBackbones().find((x) => x.id === id)!;
        const points = b.resolvePoints('paper');
        const size = Math.max(64, ...points.map((p) => p.minInputSize));
        const sd = randomWeightsWithBn(b, 3);
        const extractor = b.build({ weights: sd });
        const names = points.map((p) => p.name);
        const tfjs = await createInferenceEngine('tfjs', extractor, names);
        const onnx = await createInferenceEngine('onnx', extractor, names, { weights: sd, cacheDir: null, threads: 1 });
        try {
          expect(onnx.name).toBe('onnx');
          const shape = [1, 3, size, size];
          const x = { data: randomInput(shape as [number, number, number, number], 11), shape };
          const ref = await tfjs.run(x);
          const got = await onnx.run(x);
          const report: string[] = [];
          for (const p of names) {
            const r = ref.get(p)!;
            const g = got.get(p)!;
            expect({ p, shape: g.shape }).toEqual({ p, shape: r.shape });
            const e = relErr(g.data, r.data);
            report.push(`${p} ${e.rel.toExponential(1)}`);
            expect({ p, rel: e.rel <= 1e-4 }).toEqual({ p, rel: true });
          }
          console.log(`${b.id} @${size}: ${report.join(', ')}`);
        } finally {
          await onnx.dispose();
          extractor.dispose();
        }
      });
    }
  });
}
