import { backbonePlugin } from '@dpl/core';
import { densenetBackbones } from './densenet';

/** The dpl plugin entry: binds every DenseNet variant as a Backbone. */
export default backbonePlugin(densenetBackbones());
