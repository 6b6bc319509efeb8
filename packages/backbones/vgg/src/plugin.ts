import { backbonePlugin } from '@dpl/core';
import { vggBackbones } from './vgg';

/** The dpl plugin entry: binds every VGG variant as a Backbone. */
export default backbonePlugin(vggBackbones());
