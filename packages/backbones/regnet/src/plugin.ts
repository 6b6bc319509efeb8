import { backbonePlugin } from '@dpl/core';
import { regnetBackbones } from './regnet';

/** The dpl plugin entry: binds torchvision's RegNetY (400MF..128GF) and RegNetX (400MF..32GF) as Backbones. */
export default backbonePlugin(regnetBackbones());
