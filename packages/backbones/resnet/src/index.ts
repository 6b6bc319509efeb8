export { resnetBackbones, RESNET_IDS } from './resnet';
