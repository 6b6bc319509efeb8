/**
 * Training checkpoints: the tensors as float32 safetensors (`file`) plus a JSON sidecar
 * (`file`.json: step, metric, config, which tensors are trainable). core's safetensors writer
 * has a fixed __metadata__, hence the sidecar. Reading parses only safetensors and JSON: a
 * checkpoint never executes code, so a pickle (.pth) file is refused up front.
 */
import { promises as fs } from 'fs';
import { weightsError } from '../errors';
import { looksLikeSafetensors, readSafetensors, writeSafetensors } from '../weights/safetensors';
import type { StateDict } from '../weights/state-dict';
import { openWeightsFile, readRange } from '../weights/weights-file';

/** What a training checkpoint records besides the values: step, validation metric, task config. */
export interface CheckpointMeta {
  /** Training step the parameters were taken at. */
  step?: number;
  /** Validation metric of these parameters (null in JSON when not finite). */
  metric?: number | null;
  /** The task configuration that produced them. */
  config?: Record<string, unknown>;
}

/** Tensor values by name, as copied out of (or into) a ParamStore. */
export type CheckpointValues = Map<string, { shape: number[]; data: Float32Array }>;

const FORMAT = 'dpl-checkpoint';
export const sidecarPath = (file: string) => `${file}.json`;

interface Sidecar extends CheckpointMeta {
  format: typeof FORMAT;
  version: 1;
  trainable: string[];
}

export async function writeCheckpoint(file: string, values: CheckpointValues, trainable: Set<string>, meta: CheckpointMeta): Promise<void> {
  const sd: StateDict = new Map();
  for (const [name, t] of values) sd.set(name, { dtype: 'float32', shape: t.shape, data: t.data });
  await writeSafetensors(file, sd);
  const side: Sidecar = {
    format: FORMAT,
    version: 1,
    step: meta.step,
    metric: meta.metric === undefined ? undefined : Number.isFinite(meta.metric) ? meta.metric : null,
    config: meta.config,
    trainable: [...values.keys()].filter((n) => trainable.has(n)),
  };
  const tmp = `${sidecarPath(file)}.tmp-${process.pid}`;
  await fs.writeFile(tmp, `${JSON.stringify(side, null, 1)}\n`);
  await fs.rename(tmp, sidecarPath(file));
}

/** Refuses anything that is not safetensors, naming what it looks like instead. */
async function checkIsSafetensors(file: string): Promise<void> {
  const f = await openWeightsFile(file);
  let head: Uint8Array;
  try {
    head = await readRange(f, 0, Math.min(16, f.size), 'header');
  } finally {
    await f.handle.close();
  }
  if (looksLikeSafetensors(head, f.size)) return;
  const what =
    head[0] === 0x50 && head[1] === 0x4b
      ? 'a zip archive (a torch.save .pth/.pt file?)'
      : head[0] === 0x80
        ? 'a Python pickle'
        : 'not a safetensors file';
  throw weightsError(
    file,
    `is ${what}; training checkpoints are read only as safetensors (a checkpoint never executes code)`,
    'pass a checkpoint written by ParamStore.save, or convert the weights to safetensors',
  );
}

async function readSidecar(file: string): Promise<CheckpointMeta> {
  let text: string;
  try {
    text = await fs.readFile(sidecarPath(file), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw weightsError(sidecarPath(file), `cannot be read (${(e as Error).message})`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw weightsError(sidecarPath(file), `is not valid JSON (${(e as Error).message})`, 'delete it or re-save the checkpoint');
  }
  if (j === null || typeof j !== 'object' || (j as { format?: unknown }).format !== FORMAT) {
    throw weightsError(sidecarPath(file), `is not a ${FORMAT} sidecar`, 'delete it or re-save the checkpoint');
  }
  const s = j as Partial<Sidecar>;
  const meta: CheckpointMeta = {};
  if (typeof s.step === 'number') meta.step = s.step;
  if (typeof s.metric === 'number' || s.metric === null) meta.metric = s.metric;
  if (s.config && typeof s.config === 'object' && !Array.isArray(s.config)) meta.config = s.config;
  return meta;
}

export async function readCheckpoint(file: string): Promise<{ values: CheckpointValues; meta: CheckpointMeta }> {
  await checkIsSafetensors(file);
  const sd = await readSafetensors(file);
  const values: CheckpointValues = new Map();
  for (const [name, t] of sd) values.set(name, { shape: t.shape, data: t.data });
  return { values, meta: await readSidecar(file) };
}
