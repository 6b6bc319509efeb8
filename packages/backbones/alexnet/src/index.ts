export { alexnet, alexnetBackbones, ALEXNET_IDS } from './alexnet';
