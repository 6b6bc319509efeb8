import * as fs from 'node:fs';
import * as path from 'node:path';
import { configError, DplError } from '@dpl/core';
import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { DPL_VERSION } from '../context';
import { makeProgress } from '../progress';
import { runCell } from '../run/cell';
import { runSuite } from '../run/run-suite';

/** `--set key=value` overrides; values parse as JSON when they can (numbers, booleans, lists). */
export function parseOverrides(sets: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets ?? []) {
    const i = s.indexOf('=');
    if (i <= 0) throw configError(`--set ${s}`, 'is not key=value', 'e.g. --set epochs=2');
    const raw = s.slice(i + 1);
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    out[s.slice(0, i)] = v;
  }
  return out;
}

export const runCommand = (ctx: CliContext): CommandModule => ({
  command: 'run [suite]',
  describe: 'run a suite of benchmarks (a YAML/JSON grid) into a results store, or one cell with --task',
  builder: (y: Argv) =>
    y
      .positional('suite', { type: 'string', describe: 'suite file, e.g. suites/quick.yaml' })
      .option('workers', { type: 'number', describe: 'worker processes (default: the number of cores; 0 = this process)' })
      .option('filter', { type: 'string', describe: 'run only matching cells: "task=similarity backbone=vgg*|alexnet point!=E4"' })
      .option('store', { type: 'string', default: 'dpl-results.sqlite', describe: 'results store (SQLite)' })
      .option('dry-run', { type: 'boolean', describe: 'print the grid and its estimated cost, run nothing' })
      .option('retry-failed', { type: 'boolean', default: false, describe: 'run cells that failed before again' })
      .option('queue', { type: 'string', describe: 'run the cells on `dpl worker`s through this Redis: redis://HOST:PORT[/DB]' })
      .option('attempts', { type: 'number', default: 3, describe: 'with --queue: runs per cell before it is recorded failed' })
      .option('task', { type: 'string', describe: 'task id (dpl list tasks)' })
      .option('backbone', { type: 'string', describe: 'loss network id' })
      .option('points', { type: 'string', default: 'paper', describe: 'extraction points' })
      .option('data', { type: 'string', describe: "dataset root (omit for the task's synthetic data)" })
      .option('preset', { type: 'string', default: 'quick', describe: 'quick | paper' })
      .option('set', { type: 'string', array: true, describe: 'override a config key: --set epochs=2' })
      .option('seed', { type: 'number', default: 0 })
      .option('weights', { type: 'string', describe: "weight file, or 'random' for seeded random weights (default: the cache)" })
      .option('out', { type: 'string', describe: 'write the result JSON here' })
      .option('scratch', { type: 'string', describe: 'working directory for checkpoints and samples' }),
  handler: async (a) => {
    if (a.suite) {
      if (a.task)
        throw new DplError(
          'E_ARGS',
          'give a suite file or --task, not both',
          'dpl run suites/quick.yaml, or dpl run --task similarity --backbone vgg16',
        );
      await runSuite(ctx, a as never);
      return;
    }
    if (!a.task || !a.backbone)
      throw new DplError(
        'E_ARGS',
        'dpl run needs a suite file, or --task and --backbone',
        'e.g. dpl run suites/quick.yaml, or dpl run --task similarity --backbone vgg16 --weights random',
      );
    const backend = await ctx.backend();
    const reg = await ctx.registry();
    const result = await runCell(
      reg,
      {
        task: a.task as string,
        backbone: a.backbone as string,
        points: [a.points as string],
        preset: a.preset as string,
        overrides: parseOverrides(a.set as string[] | undefined),
        dataRoot: a.data ? path.resolve(ctx.io.cwd, a.data as string) : undefined,
        seed: a.seed as number,
        weights: a.weights === 'random' ? 'random' : a.weights ? path.resolve(ctx.io.cwd, a.weights as string) : undefined,
        scratchDir: a.scratch ? path.resolve(ctx.io.cwd, a.scratch as string) : undefined,
      },
      makeProgress(ctx.io),
    );
    const doc = { dplVersion: DPL_VERSION, ...result, backend: backend.name };
    if (a.out) {
      const file = path.resolve(ctx.io.cwd, a.out as string);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(doc, null, 2));
    }
    if (ctx.args.json) return ctx.json(doc);
    if (doc.provenance.kind === 'random') ctx.io.out(`note: the loss network had RANDOM weights (seed ${doc.provenance.seed})`);
    ctx.io.out(`${doc.task} on ${doc.cell.backbone} @ ${doc.cell.points.join(',')} (${backend.name}, ${doc.seconds.toFixed(1)} s)`);
    for (const [k, v] of Object.entries(doc.metrics)) ctx.io.out(`  ${k}: ${v}`);
    if (a.out) ctx.io.out(`result written to ${path.resolve(ctx.io.cwd, a.out as string)}`);
  },
});
