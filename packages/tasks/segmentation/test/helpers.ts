import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskTestContext, type FeatureExtractor, type RecordedProgress, type TaskContext } from '@dpl/core';
import { segmentationTask } from '../src/task';

export const tmp = (prefix = 'dpl-seg-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

export { lossNetwork } from '../../test/study-networks';

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
