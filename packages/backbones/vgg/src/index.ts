export { vggBackbones, VGG_IDS } from './vgg';
