import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskTestContext, type FeatureExtractor, type RecordedProgress, type TaskContext } from '@dpl/core';
import { squeezenetBackbones } from '../../../backbones/squeezenet/src/squeezenet';
import { similarityTask } from '../src/task';

export const tmp = (prefix = 'dpl-sim-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** squeezenet1_1 with seeded random weights (the test loss network). */
export function squeezenet(seed = 0): FeatureExtractor {
  const b = squeezenetBackbones().find((x) => x.id === 'squeezenet1_1')!;
  return b.build({ seed });
}

export { recordingProgress as recorder, type RecordedProgress } from '@dpl/core';

/** A task context over `net` with the quick preset and `overrides`. */
export function context(
  net: FeatureExtractor,
  o: {
    points?: string[];
    dataRoot?: string;
    scratchDir?: string;
    overrides?: Record<string, unknown>;
    seed?: number;
    preset?: string;
  } = {},
): TaskContext & { progress: RecordedProgress } {
  return taskTestContext(similarityTask, net, {
    ...o,
    points: o.points ?? net.backbone.resolvePoints('paper').map((p) => p.name),
    scratchDir: o.scratchDir ?? tmp('dpl-sim-scratch-'),
  });
}

/** Parses a CSV written by the task (header row, then values). */
export function readCsv(file: string): Record<string, string>[] {
  const [head, ...rows] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const keys = head.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i], v])));
}
