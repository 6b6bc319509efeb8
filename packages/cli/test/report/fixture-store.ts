import type { WeightsProvenance } from '@dpl/core';
import { ResultsStore } from '../../src/store/results-store';

/** The study points (E1..E4) of the three real backbones the fake results use. */
export const POINTS: Record<string, string[]> = {
  vgg16: ['relu1_2', 'relu2_2', 'relu3_3', 'relu5_3'],
  alexnet: ['relu1', 'relu2', 'relu3', 'relu5'],
  resnet18: ['relu', 'layer1', 'layer2', 'layer4'],
};

const VGG16_FILE = '/cache/dpl/weights/vgg16-397923af.pth';
const provenance = (backbone: string, seed: number): WeightsProvenance =>
  backbone === 'vgg16' ? { kind: 'pretrained', file: VGG16_FILE, sha256: '397923af' } : { kind: 'random', seed };

/**
 * Fake but plausible results, chosen so rankings are easy by hand:
 * - similarity (2afc_mean, higher better), seeds 0 and 1: best points vgg16 E3 .71, resnet18 E2
 *   .69, alexnet E3 .66 (ties resnet18 E3 .66 at point level);
 * - super-resolution (psnr, higher better), seed 0: best resnet18 E1 24.2, vgg16 E1 24.0, alexnet E2 23.9;
 * - toy (msq, LOWER better), seed 0, no resnet18: best alexnet E1 .10, vgg16 E2 .20.
 */
export const SIMILARITY: Record<string, [number, number][]> = {
  vgg16: [
    [0.6, 0.62],
    [0.66, 0.68],
    [0.7, 0.72],
    [0.64, 0.66],
  ],
  alexnet: [
    [0.55, 0.57],
    [0.63, 0.65],
    [0.65, 0.67],
    [0.62, 0.6],
  ],
  resnet18: [
    [0.58, 0.58],
    [0.69, 0.69],
    [0.67, 0.65],
    [0.6, 0.62],
  ],
};
export const SUPERRES: Record<string, number[]> = {
  vgg16: [24.0, 23.5, 23.0, 22.0],
  alexnet: [23.8, 23.9, 22.5, 21.9],
  resnet18: [24.2, 23.0, 22.8, 22.1],
};
export const TOY: Record<string, number[]> = {
  vgg16: [0.3, 0.2, 0.25, 0.4],
  alexnet: [0.1, 0.35, 0.5, 0.6],
};

export function buildStore(file: string): { done: number } {
  const store = new ResultsStore(file);
  const owner = 'report-test:1';
  let done = 0;
  const add = (
    task: string,
    backbone: string,
    point: string,
    seed: number,
    metrics: Record<string, number>,
    higherIsBetter: boolean,
    backend = 'wasm',
  ) => {
    const hash = `${task}|${backbone}|${point}|${seed}`;
    store.addCells([
      { hash, suite: 'report-test', task, backbone, points: [point], preset: 'quick', seed, config: { task, backbone, point, seed } },
    ]);
    store.claim([hash], owner);
    store.finish(hash, owner, {
      metrics,
      headline: { metric: Object.keys(metrics)[0], higherIsBetter },
      provenance: provenance(backbone, seed),
      backend,
      dplVersion: '0.1.0',
      seconds: 2.5,
    });
    done++;
  };
  for (const [net, rows] of Object.entries(SIMILARITY))
    rows.forEach((vals, e) =>
      vals.forEach((v, seed) =>
        // one cell ran on the native backend: the tables must say both
        add(
          'similarity',
          net,
          POINTS[net][e],
          seed,
          { '2afc_mean': v, jnd_map: v / 2 },
          true,
          net === 'resnet18' && e === 0 && seed === 1 ? 'tensorflow' : 'wasm',
        ),
      ),
    );
  for (const [net, vals] of Object.entries(SUPERRES))
    vals.forEach((v, e) => add('super-resolution', net, POINTS[net][e], 0, { psnr: v, ssim: v / 30 }, true));
  for (const [net, vals] of Object.entries(TOY)) vals.forEach((v, e) => add('toy', net, POINTS[net][e], 0, { msq: v }, false));

  // one failed cell (multi-line error, a comma and a pipe) and one never run
  store.addCells([
    {
      hash: 'failed-1',
      suite: 'report-test',
      task: 'segmentation',
      backbone: 'vgg16',
      points: ['relu1_2'],
      preset: 'quick',
      seed: 0,
      config: {},
    },
    {
      hash: 'pending-1',
      suite: 'report-test',
      task: 'segmentation',
      backbone: 'alexnet',
      points: ['relu1'],
      preset: 'quick',
      seed: 0,
      config: {},
    },
  ]);
  store.claim(['failed-1'], owner);
  store.fail('failed-1', owner, 'out of memory | allocating 4 GB, tensor 1x512x512x64\n    at conv2d (stack line)', 3);
  store.close();
  return { done };
}
