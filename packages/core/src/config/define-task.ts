/**
 * defineTask: a task written once from its config (defineTaskConfig: schema, presets, checks) and
 * its run. The config type C comes from the config, so the run reads typed settings without a
 * cast, and ctx.config is checked against the schema before the run starts.
 */
import type { Task, TaskContext, TaskResult } from '../contracts/task';
import type { TaskConfig } from './task-config';

/** What defineTask needs: id, description, the config (schema and presets, from defineTaskConfig), and `run` over the typed config. */
export interface TaskDefinition<C extends Record<string, unknown>> {
  id: string;
  /** One line: what the task measures and its headline metric. */
  description: string;
  /** The task's settings: defineTaskConfig({ task, properties, presets, refine }). */
  config: TaskConfig<C>;
  /** Runs one cell; ctx.config is already checked (every key known, present and valid). */
  run(ctx: TaskContext<C>): Promise<TaskResult>;
}

/** A Task from its definition: the config is checked against its schema and typed from it, so `run` needs no cast. */
export function defineTask<C extends Record<string, unknown>>(def: TaskDefinition<C>): Task<C> {
  return {
    id: def.id,
    description: def.description,
    presets: def.config.presets,
    configSchema: def.config.schema,
    resolveConfig: (preset, overrides) => def.config.resolve(preset, overrides),
    // async: a bad config rejects the run's promise, as any other failure of the run does
    run: async (ctx) => {
      const config = def.config.check(ctx.config);
      return await def.run({ ...ctx, config });
    },
  };
}
