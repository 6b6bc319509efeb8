import { backbonePlugin } from '@dpl/core';
import { convnextBackbones } from './convnext';

/** The dpl plugin entry: binds every ConvNeXt variant (tiny, small, base, large) as a Backbone. */
export default backbonePlugin(convnextBackbones());
