export { convnextBackbones, convnextDefaultPoints, convnextFamily, CONVNEXT_IDS } from './convnext';
