import { DPL_VERSION } from '../context';
import type { CellConfig } from '../suite/grid';

/** A queued grid cell. The job id is the cell's content hash, so enqueuing it twice adds nothing. */
export interface CellJobData {
  hash: string;
  config: CellConfig;
  /** The coordinator's dpl version: a worker of another version refuses the job. */
  dplVersion: string;
  suite: string;
}

/**
 * What a job returns. The result itself is published under the cell hash (results.ts) before the
 * job completes; `reused`: it had been published before and the cell was not run again; `spooled`:
 * Redis was unreachable, the worker keeps it and publishes it when Redis is back.
 */
export interface CellJobResult {
  hash: string;
  reused?: boolean;
  spooled?: boolean;
}

/** Progress a worker reports for a running cell (job.progress). */
export interface CellJobProgress {
  label: string;
  done: number;
  total: number;
}

/**
 * The version a worker compares with the job's. DPL_VERSION_OVERRIDE is a test hook (it lets a
 * test run a worker that pretends to be another release); nothing else reads it.
 */
const workerVersion = (): string => process.env.DPL_VERSION_OVERRIDE || DPL_VERSION;

/** Why a worker must refuse a job, or null when the versions match. */
export function versionMismatch(jobVersion: string, mine: string = workerVersion()): string | null {
  if (jobVersion === mine) return null;
  return (
    `this cell was queued by dpl ${jobVersion} but this worker runs dpl ${mine}; ` +
    `results of different versions are not comparable, so it refuses (fix: run the same dpl version on the coordinator and every worker)`
  );
}

/** Worker identity in BullMQ (job.processedBy) and in the store (owner `queue:<name>`). */
export const queueOwner = (workerName: string | undefined) => `queue:${workerName ?? 'unknown worker'}`;
