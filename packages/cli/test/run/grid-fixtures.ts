import * as path from 'node:path';
import { ResultsStore } from '../../src/store/results-store';
import type { ExpandedCell } from '../../src/suite/grid';
import { tmpDir } from '../helpers';

/** A grid cell as the suite expands it (the config is what its hash stands for; nothing runs it here). */
export const gridCell = (hash: string, backbone = 'vgg11', point = 'relu1_1'): ExpandedCell => ({
  hash,
  suite: 'unit',
  task: 'toy',
  backbone,
  points: [point],
  preset: 'quick',
  seed: 0,
  config: {
    task: 'toy',
    preset: 'quick',
    backbone,
    points: [point],
    seed: 0,
    taskConfig: {},
    overrides: {},
    data: null,
    weights: { kind: 'random' },
  },
});

/** A fresh store in a temporary folder. */
export const freshStore = () => {
  const file = path.join(tmpDir('dpl-grid-unit-'), 'results.sqlite');
  return { file, store: new ResultsStore(file) };
};

export const OUTCOME = {
  metrics: { score: 0.5 },
  headline: { metric: 'score', higherIsBetter: true },
  provenance: { kind: 'random' as const, seed: 0 },
  backend: 'cpu',
  dplVersion: '0.0.0',
  seconds: 2,
};
