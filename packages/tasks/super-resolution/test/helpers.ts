import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { taskTestContext, type FeatureExtractor, type RecordedProgress, type TaskContext } from '@dpl/core';
import { squeezenetBackbones } from '../../../backbones/squeezenet/src/squeezenet';
import { vggBackbones } from '../../../backbones/vgg/src/vgg';
import { superResolutionTask } from '../src/task';
import { referencePython } from '@dpl/core/testkit';

export const PYTHON = referencePython().python;

export async function useWasm(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
}

export const tmp = (prefix = 'dpl-sr-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** Why the Python reference cannot run (undefined when it can); printed by the tests that skip. */
export function referenceUnavailable(modules: string[]): string | undefined {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const code =
    'import importlib.util, sys; m = [n for n in sys.argv[1:] if importlib.util.find_spec(n) is None]; print(", ".join(m)); sys.exit(1 if m else 0)';
  const r = spawnSync(PYTHON, ['-c', code, ...modules], { encoding: 'utf8' });
  if (r.status !== 0) return `${PYTHON} lacks ${(r.stdout || '').trim() || modules.join(', ')}`;
  return undefined;
}

/** Runs test/sr_ref.py `mode` on each job folder (one Python process); throws with its stderr on failure. */
export function runReference(mode: 'degrade' | 'net', dirs: string[]): void {
  const r = spawnSync(PYTHON, [path.join(__dirname, 'sr_ref.py'), mode, ...dirs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sr_ref.py ${mode} failed: ${r.stderr || r.error}`);
}

export function squeezenet(seed = 0): FeatureExtractor {
  return squeezenetBackbones()
    .find((x) => x.id === 'squeezenet1_1')!
    .build({ seed });
}

export function vgg16(seed = 0): FeatureExtractor {
  return vggBackbones()
    .find((x) => x.id === 'vgg16')!
    .build({ seed });
}

export { recordingProgress as recorder, type RecordedProgress } from '@dpl/core';

/** A task context over `net` with the quick preset merged with `overrides`. */
export function context(
  net: FeatureExtractor,
  o: { points: string[]; dataRoot?: string; scratchDir?: string; overrides?: Record<string, unknown>; seed?: number; signal?: AbortSignal },
): TaskContext & { progress: RecordedProgress } {
  return taskTestContext(superResolutionTask, net, {
    ...o,

    scratchDir: o.scratchDir ?? tmp('dpl-sr-scratch-'),
    seed: o.seed ?? 42,
  });
}

/** max |a - b| and max |b|. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; maxRef: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let maxAbs = 0,
    maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return { maxAbs, maxRef };
}
