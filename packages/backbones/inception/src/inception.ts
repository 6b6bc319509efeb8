import type { GraphBackbone } from '@dpl/core';
import { googlenet } from './googlenet';
import { inceptionV3 } from './inception-v3';

export { transformInput } from './transform-input';

export const INCEPTION_IDS = ['googlenet', 'inception_v3'];

/** Both members of the family: GoogLeNet and Inception v3, with torchvision 0.14 key names. */
export const inceptionBackbones = (): GraphBackbone[] => [googlenet(), inceptionV3()];
