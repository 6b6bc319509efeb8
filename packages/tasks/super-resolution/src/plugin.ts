import { taskPlugin } from '@dpl/core';
import { superResolutionTask } from './task';

/** The dpl plugin entry: binds the super-resolution task. */
export default taskPlugin([superResolutionTask]);
