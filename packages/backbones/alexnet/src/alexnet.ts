import { defineFamily, type GraphBackbone, type GraphBuilder } from '@dpl/core';

/** One entry of torchvision's AlexNet `features`, in order. */
type Layer =
  | { kind: 'conv'; n: number; out: number; k: number; stride?: number; pad: number }
  | { kind: 'relu'; n: number }
  | { kind: 'pool'; n: number };

/**
 * torchvision's AlexNet (after the single-tower "one weird trick" variant, Krizhevsky 2014) has
 * 64/192/384/256/256 conv channels, not the 2012 paper's 96/256/384/384/256.
 */
const FEATURES: Layer[] = [
  { kind: 'conv', n: 1, out: 64, k: 11, stride: 4, pad: 2 },
  { kind: 'relu', n: 1 },
  { kind: 'pool', n: 1 },
  { kind: 'conv', n: 2, out: 192, k: 5, pad: 2 },
  { kind: 'relu', n: 2 },
  { kind: 'pool', n: 2 },
  { kind: 'conv', n: 3, out: 384, k: 3, pad: 1 },
  { kind: 'relu', n: 3 },
  { kind: 'conv', n: 4, out: 256, k: 3, pad: 1 },
  { kind: 'relu', n: 4 },
  { kind: 'conv', n: 5, out: 256, k: 3, pad: 1 },
  { kind: 'relu', n: 5 },
  { kind: 'pool', n: 5 },
];

/** Builds `model.features`; every child output is a tap addressable by name and by its index. */
function alexnetGraph(g: GraphBuilder): void {
  let x = g.input(3);
  FEATURES.forEach((l, idx) => {
    let what: string;
    if (l.kind === 'conv') {
      x = g.conv(x, `features.${idx}`, { out: l.out, k: l.k, stride: l.stride ?? 1, pad: l.pad });
      what = `conv ${l.k}x${l.k}${l.stride ? ` stride ${l.stride}` : ''}, ${l.out} channels`;
    } else if (l.kind === 'relu') {
      x = g.relu(x);
      what = 'ReLU';
    } else {
      x = g.maxPool(x, { k: 3, stride: 2 });
      what = 'max pool 3x3 stride 2';
    }
    g.tap(`${l.kind}${l.n}`, x, { studyIndex: idx, description: `features.${idx}: ${what}` });
  });
}

export const alexnetFamily = defineFamily({
  family: 'alexnet',
  variants: {
    alexnet: {
      weights: 'alexnet-owt-7be5be79.pth',
      top1: 56.522,
      params: 61.1,
      description: "AlexNet, torchvision's one-weird-trick variant (Krizhevsky 2014)",
    },
  },
  build: alexnetGraph,
  // the study's four points (docs/PROTOCOL.md section 2): features 1, 4, 7, 11
  studyPoints: { alexnet: ['relu1', 'relu2', 'relu3', 'relu5'] },
  batchNorm: false,
  // the fully connected head is not a loss-network layer
  ignorePrefixes: ['classifier.'],
});

export const alexnet = (): GraphBackbone => alexnetFamily.backbone('alexnet');
export const ALEXNET_IDS = alexnetFamily.ids;
export const alexnetBackbones = (): GraphBackbone[] => alexnetFamily.backbones();
