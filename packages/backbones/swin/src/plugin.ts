import { backbonePlugin } from '@dpl/core';
import { swinBackbones } from './swin';

/** The dpl plugin entry: binds swin_t, swin_s and swin_b as Backbones. */
export default backbonePlugin(swinBackbones());
