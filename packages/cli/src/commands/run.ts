import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveTaskConfig, type Registry } from '@dpl/core';
import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { DPL_VERSION } from '../context';
import { makeProgress } from '../progress';
import { runCell } from '../run/cell';
import { runSuite } from '../run/run-suite';
import { checkInputFile, checkOutFile, intOption, pathError, seedOption, textOption, usageError } from '../options';
import { cachedFile, weightsDir } from '../weights/cache';

/** Keys that would reach an object's prototype: never a setting. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `--set key=value` overrides; values parse as JSON when they can (numbers, booleans, lists). */
function parseOverrides(sets: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const s of sets ?? []) {
    const i = s.indexOf('=');
    if (i <= 0) throw usageError(`--set ${s}: is not key=value`, 'e.g. --set epochs=2');
    const key = s.slice(0, i);
    if (PROTOTYPE_KEYS.has(key)) throw usageError(`--set ${s}: '${key}' is not a setting`, 'dpl describe <task> lists the settings');
    if (key in out) throw usageError(`--set ${key} is given twice`, `give --set ${key}=... once`);
    const raw = s.slice(i + 1);
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    out[key] = v;
  }
  return { ...out };
}

/** Options that only a suite run takes, and those that only a one-cell run (--task) takes. */
const SUITE_ONLY = ['workers', 'filter', 'store', 'retry-failed', 'queue', 'attempts', 'synthetic'];
const CELL_ONLY = ['backbone', 'points', 'data', 'set', 'seed', 'weights', 'out'];

interface CellArgs {
  task: string;
  backbone: string;
  points?: string;
  preset?: string;
  set?: string[];
  data?: string;
  seed?: number;
  weights?: string;
  out?: string;
  scratch?: string;
  dryRun?: boolean;
}

/** `dpl run --task ... --dry-run`: the resolved cell, every part checked, nothing run. */
async function planCell(ctx: CliContext, reg: Registry, spec: Parameters<typeof runCell>[1], out: string | undefined) {
  const task = reg.task(spec.task);
  const config = resolveTaskConfig(task, spec.preset, spec.overrides);
  const backbone = reg.backbone(spec.backbone);
  const points = backbone.resolvePoints(spec.points).map((p) => p.name);
  const cached = spec.weights ? null : cachedFile(backbone);
  const weights =
    spec.weights === 'random'
      ? { kind: 'random', seed: spec.seed }
      : spec.weights
        ? { kind: 'file', file: spec.weights }
        : cached
          ? { kind: 'cache', file: cached }
          : { kind: 'missing', problem: `none given and none in the cache (${weightsDir()}): run 'dpl weights pull ${backbone.id}'` };
  const doc = {
    dryRun: true,
    task: task.id,
    preset: spec.preset,
    backbone: backbone.id,
    points,
    seed: spec.seed,
    weights,
    dataRoot: spec.dataRoot ?? null,
    config,
    out: out ?? null,
  };
  if (ctx.args.json) return ctx.json(doc);
  ctx.io.out(`${doc.task} (${doc.preset}) on ${doc.backbone} @ ${points.join(',')}, seed ${doc.seed}: nothing run (--dry-run)`);
  ctx.io.out(
    `  weights: ${weights.kind === 'random' ? `random (seed ${spec.seed})` : weights.kind === 'missing' ? `MISSING, ${weights.problem}` : weights.file}`,
  );
  ctx.io.out(`  data: ${doc.dataRoot ?? "the task's synthetic data"}`);
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) ctx.io.out(`  ${k}: ${JSON.stringify(v)}`);
  if (out) ctx.io.out(`  result would be written to ${out}`);
}

export const runCommand = (ctx: CliContext): CommandModule => ({
  command: 'run [suite]',
  describe: 'run a suite of benchmarks (a YAML/JSON grid) into a results store, or one cell with --task',
  builder: (y: Argv) =>
    y
      .positional('suite', { type: 'string', describe: 'suite file, e.g. suites/quick.yaml' })
      .option('workers', intOption('workers', 'worker processes (default: the number of cores; 0 = this process)', { min: 0, max: 1024 }))
      .option('filter', textOption('filter', 'run only matching cells: "task=similarity backbone=vgg*|alexnet point!=E4"'))
      .option('store', textOption('store', 'results store (SQLite; default dpl-results.sqlite)'))
      .option('dry-run', { type: 'boolean', describe: 'print the grid (or the one cell) and its estimated cost, run nothing' })
      .option('retry-failed', { type: 'boolean', describe: 'run cells that failed before again' })
      .option('queue', textOption('queue', 'run the cells on `dpl worker`s through this Redis: redis://HOST:PORT[/DB]'))
      .option(
        'attempts',
        intOption('attempts', 'with --queue: runs per cell before it is recorded failed (default 3)', { min: 1, max: 100 }),
      )
      .option('task', textOption('task', 'task id (dpl list tasks)'))
      .option('backbone', textOption('backbone', 'loss network id'))
      .option('points', textOption('points', 'extraction points (default paper)'))
      .option('data', textOption('data', "dataset root (omit for the task's synthetic data)"))
      .option(
        'preset',
        textOption('preset', "quick | paper (default quick); for a suite, every task in this preset instead of the suite's"),
      )
      .option('synthetic', { type: 'boolean', describe: "suite run: every task on its synthetic data, the suite's data roots ignored" })
      .option('set', { type: 'string', array: true, requiresArg: true, describe: 'override a config key: --set epochs=2 (repeatable)' })
      .option('seed', seedOption("the cell's seed (data, initialisation; the weights with --weights random); default 0"))
      .option('weights', textOption('weights', "weight file, or 'random' for seeded random weights (default: the cache)"))
      .option('out', textOption('out', 'write the result JSON to this file'))
      .option('scratch', textOption('scratch', 'working directory for checkpoints and samples'))
      .implies('attempts', 'queue')
      .conflicts('queue', 'workers')
      .check((a) => {
        const given = (keys: string[]) => keys.filter((k) => a[k] !== undefined);
        if (a.suite && a.task)
          throw usageError(
            'give a suite file or --task, not both',
            'dpl run suites/quick.yaml, or dpl run --task similarity --backbone vgg16',
          );
        if (!a.suite && !a.task)
          throw usageError(
            'dpl run needs a suite file, or --task and --backbone',
            'e.g. dpl run suites/quick.yaml, or dpl run --task similarity --backbone vgg16 --weights random',
          );
        if (a.task && !a.backbone) throw usageError('dpl run --task needs --backbone', 'e.g. --backbone vgg16 (dpl list backbones)');
        const wrong = a.suite ? given(CELL_ONLY) : given(SUITE_ONLY);
        if (wrong.length)
          throw usageError(
            `${wrong.map((k) => `--${k}`).join(', ')} ${wrong.length > 1 ? 'apply' : 'applies'} to ${a.suite ? 'dpl run --task' : 'a suite run (dpl run <suite>)'} only`,
            a.suite ? "a suite's cells take their settings from the suite file" : 'drop it, or run a suite file',
          );
        if (a.set) parseOverrides(a.set as string[]);
        return true;
      }),
  handler: async (a) => {
    if (a.suite) {
      await runSuite(ctx, {
        ...a,
        store: (a.store as string | undefined) ?? 'dpl-results.sqlite',
        retryFailed: Boolean(a.retryFailed),
      } as never);
      return;
    }
    const c = a as unknown as CellArgs;
    const cwd = ctx.io.cwd;
    const out = c.out ? path.resolve(cwd, c.out) : undefined;
    const weights = c.weights === 'random' ? 'random' : c.weights ? path.resolve(cwd, c.weights) : undefined;
    const dataRoot = c.data ? path.resolve(cwd, c.data) : undefined;
    // paths first: a typo fails here, not after the training
    if (out) checkOutFile('--out', out);
    if (weights && weights !== 'random') checkInputFile('--weights', weights);
    if (dataRoot)
      try {
        fs.statSync(dataRoot);
      } catch (e) {
        throw pathError('--data', dataRoot, (e as NodeJS.ErrnoException).code);
      }
    const reg = await ctx.registry();
    const spec = {
      task: c.task,
      backbone: c.backbone,
      points: [c.points ?? 'paper'],
      preset: c.preset ?? 'quick',
      overrides: parseOverrides(c.set),
      dataRoot,
      seed: c.seed ?? 0,
      weights,
      scratchDir: c.scratch ? path.resolve(cwd, c.scratch) : undefined,
    };
    if (c.dryRun) return planCell(ctx, reg, spec, out);
    const backend = await ctx.backend();
    const result = await runCell(reg, spec, makeProgress(ctx.io));
    const doc = { dplVersion: DPL_VERSION, ...result, backend: backend.name };
    if (out) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, JSON.stringify(doc, null, 2));
    }
    if (ctx.args.json) return ctx.json(doc);
    if (doc.provenance.kind === 'random') ctx.io.out(`note: the loss network had RANDOM weights (seed ${doc.provenance.seed})`);
    ctx.io.out(`${doc.task} on ${doc.cell.backbone} @ ${doc.cell.points.join(',')} (${backend.name}, ${doc.seconds.toFixed(1)} s)`);
    for (const [k, v] of Object.entries(doc.metrics)) ctx.io.out(`  ${k}: ${v}`);
    if (out) ctx.io.out(`result written to ${out}`);
  },
});
