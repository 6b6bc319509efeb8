import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configError, DplError, isDplError, resolveTaskConfig, withContext, type Registry } from '@dpl/core';
import { cachedFile, officialPath, weightsDir } from '../weights/cache';
import type { StoredCellSpec } from '../store/results-store';
import type { LoadedSuite, SuiteTaskEntry, WeightsMode } from './suite-file';

/** How a cell gets its loss network's weights: seeded random, or a file (the cache's, by default). */
/** `file` is relative to the weight cache (its name carries the checkpoint's hash prefix). */
export type CellWeights = { kind: 'random' } | { kind: 'pretrained'; file: string };

/** The resolved, runnable content of a grid cell (stored as the cell's config). */
export interface CellConfig {
  task: string;
  backbone: string;
  points: string[];
  preset: string;
  seed: number;
  /** The task's config: preset merged with overrides, defaults filled. */
  taskConfig: Record<string, unknown>;
  overrides: Record<string, unknown>;
  /** Absolute dataset root, or null for synthetic data. */
  data: string | null;
  weights: CellWeights;
}

/** JSON with sorted keys, so equal configs hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The content hash of a cell: everything its result depends on. The weight file is named by its
 * cache file name (torchvision names end in a SHA-256 prefix); the dpl version is not part of it
 * (it is recorded with the result).
 */
export const cellHash = (c: CellConfig): string => createHash('sha256').update(canonicalJson(c)).digest('hex').slice(0, 16);

export interface ExpandedCell extends StoredCellSpec {
  config: CellConfig & Record<string, unknown>;
}

/** Rethrows a registry/task error with the suite location it came from. */
function at<T>(suite: LoadedSuite, p: (string | number)[], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isDplError(e)) throw withContext(e, suite.where(p));
    throw e;
  }
}

/**
 * Like at(), for a task's config: an error naming `config key 'k'` (or `'k[1]'`) that the
 * overrides set points at that override's value (an unknown key at the key itself).
 */
function atConfig<T>(suite: LoadedSuite, here: (string | number)[], t: SuiteTaskEntry, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!isDplError(e)) throw e;
    const m = /^config key '([^'[]+)((?:\[\d+\])*)'/.exec(e.message);
    const overrides = [...here, 'overrides'];
    let where: string;
    if (m && t.overrides && m[1] in t.overrides) {
      const index = [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
      where = /is not an? .* setting/.test(e.message) ? suite.whereKey(overrides, m[1]) : suite.where([...overrides, m[1], ...index]);
    } else where = suite.where(t.overrides ? overrides : [...here, t.preset ? 'preset' : 'task']);
    throw withContext(e, where);
  }
}

function weightsFor(reg: Registry, backbone: string, mode: WeightsMode, where: string, problems: string[] | null): CellWeights {
  if (mode === 'random') return { kind: 'random' };
  const b = reg.backbone(backbone);
  const file = cachedFile(b);
  if (file) return { kind: 'pretrained', file: path.relative(weightsDir(), file) };
  if (mode === 'auto') return { kind: 'random' };
  const official = officialPath(b);
  if (problems && official) {
    problems.push(`${backbone}: pretrained weights not cached (dpl weights pull ${backbone})`);
    return { kind: 'pretrained', file: path.relative(weightsDir(), official) };
  }
  throw new DplError(
    'E_WEIGHTS',
    `${where}: weights 'pretrained' but ${backbone} has no cached weights`,
    `run: dpl weights pull ${backbone} (or set weights: auto / random in the suite)`,
  );
}

/** How `dpl run <suite>` may narrow a suite without editing it. */
export interface ExpandOptions {
  /** Missing weights and data are listed here (dry runs) instead of thrown. */
  problems?: string[];
  /** Every task in this preset instead of the suite's (`--preset`). */
  preset?: string;
  /** Every task on its synthetic data, the suite's data roots ignored (`--synthetic`). */
  synthetic?: boolean;
}

/**
 * Expands a suite into its grid: task x backbone x point x seed (or all points in one cell with
 * combinePoints). Everything is validated here, before any cell runs: unknown tasks, presets,
 * config keys, backbones and points fail naming the suite line.
 */
export function expandSuite(suite: LoadedSuite, reg: Registry, opts: ExpandOptions = {}): ExpandedCell[] {
  // with `problems`, missing weights and data are listed there (dry runs) instead of thrown
  const problems = opts.problems ?? null;
  const s = suite.suite;
  const name = s.name ?? path.basename(suite.file).replace(/\.(ya?ml|json)$/, '');
  const studyIds = () =>
    reg
      .backbones()
      .filter((b) => b.metadata.inStudy)
      .map((b) => b.id);
  const cells: ExpandedCell[] = [];
  const seen = new Set<string>();
  s.tasks.forEach((t, ti) => {
    const here = ['tasks', ti];
    const task = at(suite, [...here, 'task'], () => reg.task(t.task));
    const preset = opts.preset ?? t.preset ?? s.preset ?? 'quick';
    if (opts.preset && !task.presets.some((p) => p.name === opts.preset))
      throw configError(
        `--preset ${opts.preset}`,
        `is not a preset of ${task.id} (${suite.where([...here, 'task'])})`,
        `use one of: ${task.presets.map((p) => p.name).join(', ')}`,
      );
    const overrides = t.overrides ?? {};
    const taskConfig = atConfig(suite, here, t, () => resolveTaskConfig(task, preset, overrides));
    const data = t.data && !opts.synthetic ? path.resolve(path.dirname(suite.file), t.data) : null;
    if (data && !fs.existsSync(data)) {
      const msg = `${suite.where([...here, 'data'])}: the data root ${data} does not exist`;
      if (!problems)
        throw new DplError(
          'E_DATA',
          msg,
          `download the ${t.task} dataset there (docs/PROTOCOL.md names the layout), fix the path, or remove data: for synthetic data`,
        );
      problems.push(msg);
    }
    const bKey = t.backbones ? [...here, 'backbones'] : ['backbones'];
    const bSpec = t.backbones ?? s.backbones;
    if (!bSpec)
      throw new DplError(
        'E_CONFIG',
        `${suite.where(here)}: no backbones for task ${t.task}`,
        'add backbones: [...] to the suite or the task',
      );
    const ids = bSpec === 'study' ? studyIds() : bSpec;
    const pKey = t.points ? [...here, 'points'] : ['points'];
    const pSpec = t.points ?? s.points ?? 'paper';
    const seeds = t.seeds ?? s.seeds ?? [0];
    const mode = t.weights ?? s.weights ?? 'auto';
    ids.forEach((id, bi) => {
      const b = at(suite, bSpec === 'study' ? bKey : [...bKey, bi], () => reg.backbone(id));
      const pts = at(suite, pKey, () => b.resolvePoints(pSpec)).map((p) => p.name);
      const weights = weightsFor(reg, b.id, mode, suite.where(t.weights ? [...here, 'weights'] : ['weights']), problems);
      const groups = t.combinePoints ? [pts] : pts.map((p) => [p]);
      for (const points of groups)
        for (const seed of seeds) {
          const config: CellConfig = { task: task.id, backbone: b.id, points, preset, seed, taskConfig, overrides, data, weights };
          const hash = cellHash(config);
          if (seen.has(hash)) continue;
          seen.add(hash);
          cells.push({ hash, suite: name, task: task.id, backbone: b.id, points, preset, seed, config: config as ExpandedCell['config'] });
        }
    });
  });
  return cells;
}
