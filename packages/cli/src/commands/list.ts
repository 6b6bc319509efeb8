import type { CommandModule } from 'yargs';
import type { Registry } from '@dpl/core';
import type { CliContext } from '../context';
import { table } from '../io';

export const listCommand = (ctx: CliContext): CommandModule<object, { what: string }> => ({
  command: 'list <what>',
  describe: 'list backbones, tasks or plugins',
  builder: (y) => y.positional('what', { choices: ['backbones', 'tasks', 'plugins'] as const, demandOption: true }) as never,
  handler: async ({ what }) => {
    const reg = await ctx.registry();
    if (what === 'backbones') {
      // a backbone whose points cannot be computed is left out with a warning naming its plugin
      const rows = reg.backbones().flatMap((b) => {
        try {
          const points = b.points();
          return [
            {
              id: b.id,
              family: b.family,
              study: b.metadata.inStudy,
              imagenetTop1: b.metadata.imagenetTop1 ?? null,
              paramsMillions: b.metadata.paramsMillions ?? null,
              paperPoints: points.filter((p) => p.paper).map((p) => p.name),
              points: points.length,
            },
          ];
        } catch (e) {
          const by = reg.plugins.find((p) => p.registered.backbones.includes(b.id));
          ctx.io.err(`warning: plugin '${by?.name}' (${by?.dir}): backbone '${b.id}': ${(e as Error).message.split('\n')[0]}`);
          return [];
        }
      });
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
      const rows = pluginRows(reg);
      if (ctx.args.json) return ctx.json(rows);
      const ids = (r: (typeof rows)[number]) =>
        [...r.registered.backbones, ...r.registered.tasks, ...r.registered.commands.map((c) => `dpl ${c}`)].join(', ') || '-';
      const status = (r: (typeof rows)[number]) =>
        r.error
          ? 'FAILED (see stderr)'
          : r.skipped
            ? 'not loaded: same name given elsewhere'
            : r.warnings.length
              ? 'partly loaded (see stderr)'
              : 'ok';
      ctx.io.out(
        rows.length
          ? table(
              rows.map((r) => [r.name, r.version, r.apiVersion ?? '', r.kind ?? '', r.source, status(r), ids(r), r.path]),
              ['plugin', 'version', 'api', 'kind', 'found in', 'status', 'registered', 'path'],
            )
          : '(no plugins found)',
      );
    }
  },
});

/** One row per plugin found: where from, what it registered, and why it failed or was skipped. */
export const pluginRows = (reg: Registry) =>
  reg.plugins.map((p) => ({
    name: p.name,
    version: p.version,
    apiVersion: p.apiVersion ?? null,
    kind: p.kind ?? null,
    source: p.source,
    path: p.dir,
    registered: p.registered,
    error: p.error ?? null,
    warnings: p.warnings,
    skipped: p.skipped ?? null,
  }));
