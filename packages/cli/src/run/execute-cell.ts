import * as path from 'node:path';
import type { ProgressReporter, Registry } from '@dpl/core';
import { DPL_VERSION } from '../context';
import type { CellConfig } from '../suite/grid';
import type { CellOutcome } from '../store/results-store';
import { weightsDir } from '../weights/cache';
import { runCell } from './cell';

/**
 * Runs a stored grid cell. The local runner's worker processes and the queue workers both call
 * this, so a cell gives the same result whichever way it is run. `mapData` rewrites data roots
 * for machines where the datasets live elsewhere.
 */
export async function executeCell(
  reg: Registry,
  config: CellConfig,
  progress: ProgressReporter,
  opts: { signal?: AbortSignal; scratchDir?: string; mapData?: (p: string) => string } = {},
): Promise<CellOutcome> {
  const weights = config.weights.kind === 'random' ? 'random' : path.join(weightsDir(), config.weights.file);
  const r = await runCell(
    reg,
    {
      task: config.task,
      backbone: config.backbone,
      points: config.points,
      preset: config.preset,
      overrides: config.overrides,
      dataRoot: config.data ? (opts.mapData ? opts.mapData(config.data) : config.data) : undefined,
      seed: config.seed,
      weights,
      scratchDir: opts.scratchDir,
    },
    progress,
    opts.signal,
  );
  return {
    metrics: r.metrics,
    splits: r.splits,
    headline: r.headline,
    provenance: r.provenance,
    backend: r.backend,
    dplVersion: DPL_VERSION,
    seconds: r.seconds,
    detail: r.detail,
  };
}
