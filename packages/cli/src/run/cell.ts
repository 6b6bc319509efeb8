import * as fs from 'node:fs';
import {
  backendName,
  makeTempDir,
  removeTempDir,
  resolveTaskConfig,
  type ProgressReporter,
  type Registry,
  type TaskResult,
} from '@dpl/core';
import { resolveWeights } from '../weights-source';

/** One benchmark cell: a task on one loss network at some points, with one seed. */
export interface CellSpec {
  task: string;
  backbone: string;
  points: string[];
  preset: string;
  overrides?: Record<string, unknown>;
  dataRoot?: string;
  seed: number;
  /** A weight file, 'random' for seeded random weights, or undefined for the cache. */
  weights?: string;
  scratchDir?: string;
}

export interface CellResult extends TaskResult {
  cell: CellSpec & { resolvedConfig: Record<string, unknown>; points: string[] };
  startedAt: string;
  seconds: number;
}

/**
 * Runs one cell: resolves and validates everything (task, preset, backbone, points, weights)
 * before any work, builds the frozen loss network, runs the task and returns its result with the
 * resolved configuration. The suite runner and `dpl run --task` share this path.
 */
export async function runCell(reg: Registry, spec: CellSpec, progress: ProgressReporter, signal?: AbortSignal): Promise<CellResult> {
  const task = reg.task(spec.task);
  const config = resolveTaskConfig(task, spec.preset, spec.overrides);
  const backbone = reg.backbone(spec.backbone);
  const points = backbone.resolvePoints(spec.points).map((p) => p.name);
  const weights = spec.weights === 'random' ? { seed: spec.seed } : await resolveWeights(backbone, spec.weights, undefined);
  // without a scratch folder, a temporary one removed afterwards (and on SIGINT/SIGTERM)
  const scratchDir = spec.scratchDir ?? makeTempDir(`dpl-cell-${process.pid}-${spec.task}-`);
  const temporary = spec.scratchDir === undefined;
  const started = Date.now();
  let lossNetwork: ReturnType<typeof backbone.build> | undefined;
  try {
    fs.mkdirSync(scratchDir, { recursive: true });
    lossNetwork = backbone.build(weights);
    const result = await task.run({ lossNetwork, points, config, dataRoot: spec.dataRoot, seed: spec.seed, progress, scratchDir, signal });
    return {
      ...result,
      backend: result.backend ?? backendName(),
      cell: { ...spec, points, resolvedConfig: config },
      startedAt: new Date(started).toISOString(),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    lossNetwork?.dispose();
    if (temporary) removeTempDir(scratchDir);
  }
}
