import { spatialShapes, type Backbone, type ExtractionPoint } from '@dpl/core';
import type { CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { table } from '../io';

interface Args {
  backbone?: string;
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

export const describeCommand = (ctx: CliContext): CommandModule<object, Args> => ({
  command: 'describe [backbone]',
  describe: 'every extraction point of a backbone with its attributes (paper points marked)',
  builder: (y) =>
    y
      .positional('backbone', { type: 'string', describe: 'backbone id, e.g. vgg16' })
      .option('size', { type: 'number', array: true, describe: "input H W: adds each point's output shape" })
      .option('all', { type: 'boolean', describe: 'describe every installed backbone' })
      .option('paper', { type: 'boolean', describe: "only the study's paper points" })
      .check((a) => {
        if (!a.backbone && !a.all) throw new Error('name a backbone or pass --all');
        if (a.size && (a.size.length < 1 || a.size.length > 2 || a.size.some((v) => !Number.isInteger(v) || v < 1))) {
          throw new Error('--size takes H and W as positive integers, e.g. --size 224 224');
        }
        return true;
      }) as never,
  handler: async (a) => {
    const reg = await ctx.registry();
    const size = a.size ? [a.size[0], a.size[1] ?? a.size[0]] : undefined;
    const targets = a.all ? reg.backbones() : [reg.backbone(a.backbone as string)];
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
