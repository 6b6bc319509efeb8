import { backbonePlugin } from '@dpl/core';
import { inceptionBackbones } from './inception';

/** The dpl plugin entry: binds GoogLeNet and Inception v3 as Backbones. */
export default backbonePlugin(inceptionBackbones());
