import type { Backbone } from './contracts/backbone';
import type { Task } from './contracts/task';
import type { CliCommand } from './contracts/cli-command';

/**
 * DI tokens. Symbol.for keeps them identical across duplicate copies of @dpl/core, so a
 * third-party plugin that bundles its own copy still binds to the same multi-binding.
 */
export const BackboneToken: symbol & { __type?: Backbone } = Symbol.for('dpl.Backbone');
/** The DI token tasks are bound to (a multi-binding: `container.getAll(TaskToken)`). */
export const TaskToken: symbol & { __type?: Task } = Symbol.for('dpl.Task');
/** Multi-binding of the CLI commands plugins contribute (`CliCommand`). */
export const CliCommandToken: symbol & { __type?: CliCommand } = Symbol.for('dpl.CliCommand');
