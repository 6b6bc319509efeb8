import { taskPlugin } from '@dpl/core';
import { similarityTask } from './task';

/** The dpl plugin entry: binds the perceptual-similarity task. */
export default taskPlugin([similarityTask]);
