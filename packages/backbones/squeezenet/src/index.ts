export { squeezenetBackbones, SQUEEZENET_IDS } from './squeezenet';
