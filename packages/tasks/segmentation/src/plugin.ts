import { taskPlugin } from '@dpl/core';
import { segmentationTask } from './task';

/** The dpl plugin entry: binds the road-segmentation task. */
export default taskPlugin([segmentationTask]);
