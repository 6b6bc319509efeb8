export { vitBackbones, vitDefaultPoints, vitLegacyKey, vitShape, VIT_IDS } from './vit';
