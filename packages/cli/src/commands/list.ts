import type { CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { table } from '../io';

export const listCommand = (ctx: CliContext): CommandModule<object, { what: string }> => ({
  command: 'list <what>',
  describe: 'list backbones, tasks or plugins',
  builder: (y) => y.positional('what', { choices: ['backbones', 'tasks', 'plugins'] as const, demandOption: true }) as never,
  handler: async ({ what }) => {
    const reg = await ctx.registry();
    if (what === 'backbones') {
      const rows = reg.backbones().map((b) => ({
        id: b.id,
        family: b.family,
        study: b.metadata.inStudy,
        imagenetTop1: b.metadata.imagenetTop1 ?? null,
        paramsMillions: b.metadata.paramsMillions ?? null,
        paperPoints: b
          .points()
          .filter((p) => p.paper)
          .map((p) => p.name),
        points: b.points().length,
      }));
      if (ctx.args.json) return ctx.json(rows);
      ctx.io.out(
        table(
          rows.map((r) => [
            r.id,
            r.family,
            r.study ? 'yes' : '',
            r.imagenetTop1 ?? '',
            r.paramsMillions ?? '',
            r.paperPoints.join(',') || '-',
            r.points,
          ]),
          ['backbone', 'family', 'study', 'top1', 'params(M)', 'paper points', '#points'],
        ),
      );
    } else if (what === 'tasks') {
      const rows = reg.tasks().map((t) => ({ id: t.id, description: t.description, presets: t.presets.map((p) => p.name) }));
      if (ctx.args.json) return ctx.json(rows);
      ctx.io.out(
        rows.length
          ? table(
              rows.map((r) => [r.id, r.presets.join(','), r.description]),
              ['task', 'presets', 'description'],
            )
          : '(no task plugins installed)',
      );
    } else {
      const rows = reg.plugins.map((p) => ({
        name: p.name,
        version: p.version,
        kind: p.kind,
        source: p.source,
        dir: p.dir,
        error: p.error ?? null,
      }));
      if (ctx.args.json) return ctx.json(rows);
      ctx.io.out(
        table(
          rows.map((r) => [r.name, r.version, r.kind, r.source, r.error ? `FAILED: ${r.error}` : 'ok']),
          ['plugin', 'version', 'kind', 'found in', 'status'],
        ),
      );
    }
  },
});
