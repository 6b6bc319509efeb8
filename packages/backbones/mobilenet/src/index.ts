export { mobilenetBackbones, mobilenetBlocks, mobilenetStageEnds, makeDivisible, MOBILENET_IDS, type MobileNetBlock } from './mobilenet';
