import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskTestContext, type FeatureExtractor, type RecordedProgress, type TaskContext } from '@dpl/core';
import { efficientnetBackbones } from '../../../backbones/efficientnet/src/efficientnet';
import { squeezenetBackbones } from '../../../backbones/squeezenet/src/squeezenet';
import { vggBackbones } from '../../../backbones/vgg/src/vgg';
import { segmentationTask } from '../src/task';

export const tmp = (prefix = 'dpl-seg-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** A study network with seeded random weights (the test loss networks). */
export function lossNetwork(id: 'squeezenet1_1' | 'vgg16' | 'efficientnet_b0', seed = 0): FeatureExtractor {
  const all = [...squeezenetBackbones(), ...vggBackbones(), ...efficientnetBackbones()];
  return all.find((b) => b.id === id)!.build({ seed });
}

export { recordingProgress as recorder, type RecordedProgress } from '@dpl/core';

/** A task context over `net` with the quick preset and `overrides`. */
export function context(
  net: FeatureExtractor,
  o: { points: string[]; dataRoot?: string; scratchDir?: string; overrides?: Record<string, unknown>; seed?: number; preset?: string },
): TaskContext & { progress: RecordedProgress } {
  return taskTestContext(segmentationTask, net, {
    ...o,

    scratchDir: o.scratchDir ?? tmp('dpl-seg-scratch-'),
  });
}
