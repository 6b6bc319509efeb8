import { backbonePlugin } from '@dpl/core';
import { efficientnetBackbones } from './efficientnet';

/** The dpl plugin entry: binds every EfficientNet variant (B0..B7, V2-S/M/L) as a Backbone. */
export default backbonePlugin(efficientnetBackbones());
