export { googlenet, inceptionBackbones, inceptionV3, INCEPTION_IDS, transformInput } from './inception';
