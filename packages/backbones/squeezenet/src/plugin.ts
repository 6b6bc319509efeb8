import { backbonePlugin } from '@dpl/core';
import { squeezenetBackbones } from './squeezenet';

/** The dpl plugin entry: binds SqueezeNet 1.0 and 1.1 as Backbones. */
export default backbonePlugin(squeezenetBackbones());
