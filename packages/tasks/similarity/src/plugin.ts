import { taskPlugin, type CliCommand } from '@dpl/core';
import { similarityCommand } from './cli/similarity-command';
import { similarityTask } from './task';

/** The dpl plugin entry: binds the perceptual-similarity task and the `dpl similarity` command. */
export default taskPlugin([similarityTask], [similarityCommand as unknown as CliCommand]);
