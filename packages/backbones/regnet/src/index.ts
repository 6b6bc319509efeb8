export { regnetBackbones, regnetStages, REGNET_IDS, type RegNetStage } from './regnet';
