import { backbonePlugin } from '@dpl/core';
import { vitBackbones } from './vit';

/** The dpl plugin entry: binds every Vision Transformer (vit_b_16, vit_b_32, vit_l_16, vit_l_32) as a Backbone. */
export default backbonePlugin(vitBackbones());
