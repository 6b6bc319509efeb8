export { inceptionBackbones, INCEPTION_IDS, transformInput } from './inception';
export { googlenet } from './googlenet';
export { inceptionV3 } from './inception-v3';
