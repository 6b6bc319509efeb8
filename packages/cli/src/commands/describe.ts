import { DplError, expectedValue, spatialShapes, unknownBackbone, type Backbone, type ExtractionPoint, type Task } from '@dpl/core';
import type { CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { table } from '../io';
import { MAX_SIDE, parseInteger, usageError } from '../options';

interface Args {
  id?: string;
  size?: number[];
  all?: boolean;
  paper?: boolean;
}

function describeBackbone(b: Backbone, size: number[] | undefined, paperOnly: boolean) {
  const pts = b.points().filter((p) => !paperOnly || p.paper);
  const shapes = size
    ? spatialShapes(
        b.graph(),
        size[0],
        size[1],
        pts.map((p) => p.node),
      )
    : null;
  return {
    backbone: b.id,
    family: b.family,
    ...b.metadata,
    minInputSize: Math.max(...b.points().map((p) => p.minInputSize)),
    points: pts.map((p: ExtractionPoint) => ({
      name: p.name,
      paper: p.paper,
      paperIndex: p.paperIndex ?? null,
      studyIndex: p.studyIndex ?? null,
      aliases: p.aliases,
      channels: p.channels,
      stride: p.stride,
      receptiveField: p.receptiveField,
      convsBefore: p.convsBefore,
      relativeDepth: Number(p.relativeDepth.toFixed(4)),
      paramsUpTo: p.paramsUpTo,
      minInputSize: p.minInputSize,
      description: p.description ?? null,
      ...(shapes ? { outputShape: [p.channels, ...(shapes[p.node] as number[])] } : {}),
    })),
  };
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** A task's presets and every config key: its value in each preset, what it accepts, what it does. */
function describeTask(t: Task) {
  const props = t.configSchema?.properties ?? {};
  const keys = t.configSchema ? Object.keys(props) : Object.keys(t.presets[0]?.config ?? {});
  return {
    task: t.id,
    description: t.description,
    presets: t.presets.map((p) => ({ name: p.name, description: p.description })),
    settings: keys.map((k) => ({
      key: k,
      description: props[k]?.description ?? null,
      accepts: props[k] ? expectedValue(props[k]) : null,
      presets: Object.fromEntries(t.presets.map((p) => [p.name, p.config[k] ?? null])),
    })),
  };
}

function printTask(ctx: CliContext, d: ReturnType<typeof describeTask>): void {
  ctx.io.out(`${d.task} - ${d.description}`);
  ctx.io.out('presets:');
  for (const p of d.presets) ctx.io.out(`  ${p.name}: ${p.description}`);
  const names = d.presets.map((p) => p.name);
  ctx.io.out(`settings (${names.join(' / ')}; change them with a suite's overrides or dpl run --task ${d.task} --set key=value):`);
  ctx.io.out(
    table(
      d.settings.map((s) => [s.key, names.map((n) => show(s.presets[n])).join(' / '), s.accepts ?? '']),
      ['key', names.join(' / '), 'accepts'],
    ),
  );
  ctx.io.out('');
  for (const s of d.settings) if (s.description) ctx.io.out(`  ${s.key}: ${s.description}`);
}

export const describeCommand = (ctx: CliContext): CommandModule<object, Args> => ({
  command: 'describe [id]',
  describe: "a backbone's extraction points with their attributes (paper points marked), or a task's presets and settings",
  builder: (y) =>
    y
      .positional('id', { type: 'string', describe: 'a backbone id (vgg16) or a task id (segmentation)' })
      .option('size', {
        type: 'string',
        array: true,
        describe: `input H W (or one side for both): adds each point's output shape; from the backbone's minimum input to ${MAX_SIDE}`,
        coerce: (v: unknown[]) => {
          if (!v.length || v.length > 2)
            throw usageError(`--size takes H and W (or one side), got ${v.length} values`, 'e.g. --size 224 224');
          return v.map((s) => parseInteger('size', String(s), { min: 1, max: MAX_SIDE }));
        },
      })
      .option('all', { type: 'boolean', describe: 'describe every installed backbone' })
      .option('paper', { type: 'boolean', describe: "only the study's paper points" })
      .check((a) => {
        if (!a.id && !a.all) throw usageError('dpl describe needs a backbone or a task, or --all', 'e.g. dpl describe vgg16');
        if (a.id && a.all) throw usageError(`dpl describe takes a backbone (${a.id}) or --all, not both`, 'drop one of them');
        return true;
      }) as never,
  handler: async (a) => {
    const reg = await ctx.registry();
    const size = a.size ? [a.size[0], a.size[1] ?? a.size[0]] : undefined;
    const task = !a.all && !reg.backbones().some((b) => b.id === a.id) ? reg.tasks().find((t) => t.id === a.id) : undefined;
    if (task) {
      if (a.size || a.paper)
        throw usageError(`${a.size ? '--size' : '--paper'} applies to backbones, and ${task.id} is a task`, `dpl describe ${task.id}`);
      const d = describeTask(task);
      return ctx.args.json ? ctx.json(d) : printTask(ctx, d);
    }
    if (!a.all && !reg.backbones().some((b) => b.id === a.id)) {
      const tasks = reg.tasks().map((t) => t.id);
      const e = unknownBackbone(
        a.id as string,
        reg.backbones().map((b) => b.id),
      );
      throw new DplError(e.code, e.message.split('\n')[0], `${e.hint}${tasks.length ? `; or a task: ${tasks.join(', ')}` : ''}`);
    }
    const targets = a.all ? reg.backbones() : [reg.backbone(a.id as string)];
    for (const b of size ? targets : []) {
      const min = Math.max(
        ...b
          .points()
          .filter((p) => !a.paper || p.paper)
          .map((p) => p.minInputSize),
      );
      if (Math.min(...size!) < min)
        throw usageError(
          `--size ${a.size!.join(' ')} is smaller than ${b.id}'s minimum input (${min}x${min})`,
          `use --size ${min} or more`,
        );
    }
    const docs = targets.map((b) => describeBackbone(b, size, Boolean(a.paper)));
    if (ctx.args.json) return ctx.json(a.all ? docs : docs[0]);
    for (const d of docs) {
      ctx.io.out(`${d.backbone} (${d.family})${d.description ? ` - ${d.description}` : ''}`);
      ctx.io.out(
        `  ImageNet top-1 ${d.imagenetTop1 ?? '?'}%, ${d.paramsMillions ?? '?'}M params, input normalisation ${d.normalization}, min input ${d.minInputSize}px`,
      );
      if (d.weights) ctx.io.out(`  weights: ${d.weights.url}`);
      ctx.io.out(
        table(
          d.points.map((p) => [
            p.paper ? `E${p.paperIndex}` : '',
            p.name,
            p.studyIndex ?? '',
            p.channels,
            p.stride,
            p.receptiveField,
            p.convsBefore,
            p.relativeDepth.toFixed(3),
            p.paramsUpTo,
            ...(size ? [((p as { outputShape?: number[] }).outputShape ?? []).join('x')] : []),
          ]),
          [
            'paper',
            'point',
            'index',
            'channels',
            'stride',
            'RF',
            'convs',
            'rel.depth',
            'params',
            ...(size ? [`out@${size.join('x')}`] : []),
          ],
        ),
      );
      ctx.io.out('');
    }
  },
});
