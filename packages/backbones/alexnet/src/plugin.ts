import { backbonePlugin } from '@dpl/core';
import { alexnetBackbones } from './alexnet';

/** The dpl plugin entry: binds AlexNet as a Backbone. */
export default backbonePlugin(alexnetBackbones());
