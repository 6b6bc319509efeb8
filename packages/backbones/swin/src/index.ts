export { swinBackbones, swinFamily, middleBlock, SWIN_IDS, WINDOW } from './swin';
