import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type GraphBackbone } from '@dpl/core';
import { alexnetBackbones } from '../../../backbones/alexnet/src/alexnet';
import { densenetBackbones } from '../../../backbones/densenet/src/densenet';
import { efficientnetBackbones } from '../../../backbones/efficientnet/src/efficientnet';
import { inceptionBackbones } from '../../../backbones/inception/src/inception';
import { resnetBackbones } from '../../../backbones/resnet/src/resnet';
import { squeezenetBackbones } from '../../../backbones/squeezenet/src/squeezenet';
import { vggBackbones } from '../../../backbones/vgg/src/vgg';
import { segmentationTask } from '../src/task';
import { context } from './helpers';

const STUDY = [
  'alexnet',
  'vgg11',
  'vgg16',
  'vgg16_bn',
  'vgg19',
  'densenet121',
  'resnet18',
  'resnet50',
  'resnext50_32x4d',
  'googlenet',
  'inception_v3',
  'squeezenet1_1',
  'efficientnet_b0',
  'efficientnet_b7',
];

const SLOW = process.env.DPL_SLOW_TESTS === '1';
if (!SLOW)
  console.warn(
    'segmentation: the run over all 14 study networks is skipped (builds every network, minutes of CPU); set DPL_SLOW_TESTS=1 to run it',
  );
const slow = SLOW ? it : it.skip;

beforeAll(async () => {
  await initBackend('wasm');
});

describe('segmentation with every study network as the loss network (the reference supported only `features` lists)', () => {
  slow(
    'one training step at all four paper points, then validation and test, for each of the 14 networks',
    async () => {
      const all: GraphBackbone[] = [
        ...alexnetBackbones(),
        ...vggBackbones(),
        ...densenetBackbones(),
        ...resnetBackbones(),
        ...inceptionBackbones(),
        ...squeezenetBackbones(),
        ...efficientnetBackbones(),
      ];
      const lines: string[] = [];
      for (const id of STUDY) {
        const b = all.find((x) => x.id === id)!;
        const points = b.resolvePoints('paper');
        const size = Math.max(32, Math.ceil(Math.max(...points.map((p) => p.minInputSize)) / 16) * 16);
        const net = b.build({ seed: 0 });
        const t0 = Date.now();
        try {
          const before = tf.memory().numTensors;
          const r = await segmentationTask.run(
            context(net, {
              points: points.map((p) => p.name),
              overrides: {
                cropSize: size,
                imageSize: size,
                syntheticSize: size,
                syntheticTrain: 2,
                syntheticValid: 2,
                syntheticTest: 2,
                batchSize: 2,
                epochs: 1,
                maxSteps: 1,
                samples: 0,
              },
            }),
          );
          const d = r.detail as { training: { losses: number[] }; loss: { perceptual: { points: string[] } } };
          expect(d.loss.perceptual.points).toHaveLength(4);
          expect(Number.isFinite(d.training.losses[0])).toBe(true);
          expect(Number.isFinite(r.metrics.quality)).toBe(true);
          // what stays is the network's own backward-kernel cache, freed with it
          expect(tf.memory().numTensors).toBeGreaterThanOrEqual(before);
          lines.push(
            `${id} @${size}px [${points.map((p) => p.name).join(',')}]: loss ${d.training.losses[0].toFixed(4)}, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
          );
        } finally {
          net.dispose();
        }
      }
      console.log(lines.join('\n'));
    },
    1800000,
  );
});
