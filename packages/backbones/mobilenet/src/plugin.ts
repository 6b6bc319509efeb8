import { backbonePlugin } from '@dpl/core';
import { mobilenetBackbones } from './mobilenet';

/** The dpl plugin entry: binds mobilenet_v3_large and mobilenet_v3_small as Backbones. */
export default backbonePlugin(mobilenetBackbones());
