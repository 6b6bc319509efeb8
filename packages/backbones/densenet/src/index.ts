export { densenetBackbones, densenetLegacyKey, DENSENET_IDS } from './densenet';
