export { efficientnetBackbones, efficientnetShape, makeDivisible, EFFICIENTNET_IDS, type EfficientNetShape } from './efficientnet';
