import { backbonePlugin } from '@dpl/core';
import { resnetBackbones } from './resnet';

/** The dpl plugin entry: binds every ResNet / ResNeXt / Wide ResNet variant as a Backbone. */
export default backbonePlugin(resnetBackbones());
