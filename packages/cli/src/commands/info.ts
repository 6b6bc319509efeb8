import * as tf from '@tensorflow/tfjs-core';
import type { CommandModule } from 'yargs';
import { type CliContext, dplHome, DPL_VERSION } from '../context';
import { pluginRows } from './list';

export const infoCommand = (ctx: CliContext): CommandModule => ({
  command: 'info',
  describe: 'versions, tensor backend, plugins found, weight cache path',
  handler: async () => {
    const backend = await ctx.backend();
    const reg = await ctx.registry();
    const info = {
      dpl: DPL_VERSION,
      node: process.version,
      tfjs: tf.version_core,
      backend: backend.name,
      nativePackage: backend.nativePackage ?? null,
      backendNotes: backend.notes,
      weightCache: dplHome(),
      plugins: pluginRows(reg),
      backbones: reg.backbones().length,
      tasks: reg.tasks().length,
    };
    if (ctx.args.json) return ctx.json(info);
    ctx.io.out(`dpl ${info.dpl} (node ${info.node}, tfjs ${info.tfjs})`);
    ctx.io.out(`backend: ${info.backend}${info.nativePackage ? ` via ${info.nativePackage}` : ''}`);
    for (const n of info.backendNotes) ctx.io.out(`  not used: ${n}`);
    ctx.io.out(`weight cache: ${info.weightCache}`);
    ctx.io.out(`plugins (${info.plugins.length}): ${info.backbones} backbones, ${info.tasks} tasks`);
    for (const p of info.plugins)
      ctx.io.out(
        `  ${p.name}@${p.version} [${p.kind ?? '?'}, ${p.source}]${p.error ? '  FAILED (see above)' : p.skipped ? '  not loaded (see above)' : ''}`,
      );
  },
});
