import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder } from '@dpl/core';

type Cfg = (number | 'M')[];

/** torchvision's VGG configurations (features only; the classifier is not a loss-network layer). */
const CFGS: Record<string, Cfg> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

interface VggVariant extends FamilyVariant {
  cfg: Cfg;
}

const variant = (depth: number, bn: boolean, weights: string, top1: number, params: number): VggVariant => ({
  cfg: CFGS[`vgg${depth}`],
  batchNorm: bn,
  weights,
  top1,
  params,
  description: `VGG-${depth}${bn ? ' with batch normalisation' : ''} (Simonyan & Zisserman 2014)`,
});

/** Every variant with its torchvision V1 weights, ImageNet top-1 and parameters (M). */
const VARIANTS: Record<string, VggVariant> = {
  vgg11: variant(11, false, 'vgg11-8a719046.pth', 69.02, 132.86),
  vgg11_bn: variant(11, true, 'vgg11_bn-6002323d.pth', 70.37, 132.87),
  vgg13: variant(13, false, 'vgg13-19584684.pth', 69.928, 133.05),
  vgg13_bn: variant(13, true, 'vgg13_bn-abd245e5.pth', 71.586, 133.05),
  vgg16: variant(16, false, 'vgg16-397923af.pth', 71.592, 138.36),
  vgg16_bn: variant(16, true, 'vgg16_bn-6c64b313.pth', 73.36, 138.37),
  vgg19: variant(19, false, 'vgg19-dcbb9e9d.pth', 72.376, 143.67),
  vgg19_bn: variant(19, true, 'vgg19_bn-c79401a0.pth', 74.218, 143.68),
};

/**
 * Builds `model.features` exactly as torchvision does: conv3x3(pad 1) [+ BN] + ReLU per number,
 * maxpool 2x2 per 'M'. Every output is a tap named convB_I / bnB_I / reluB_I / poolB and also
 * addressable by its index in `features` (the study's module index).
 */
function vggGraph(g: GraphBuilder, { cfg, batchNorm: bn }: VggVariant): void {
  let x = g.input(3);
  let idx = 0;
  let block = 1;
  let layer = 1;
  const tap = (name: string, what: string) => {
    g.tap(name, x, { studyIndex: idx, description: `features.${idx}: ${what}` });
    idx++;
  };
  for (const v of cfg) {
    if (v === 'M') {
      x = g.maxPool(x, { k: 2, stride: 2 });
      tap(`pool${block}`, 'max pool 2x2');
      block++;
      layer = 1;
      continue;
    }
    x = g.conv(x, `features.${idx}`, { out: v, k: 3, pad: 1 });
    tap(`conv${block}_${layer}`, `conv 3x3, ${v} channels`);
    if (bn) {
      x = g.batchNorm(x, `features.${idx}`);
      tap(`bn${block}_${layer}`, 'batch norm');
    }
    x = g.relu(x);
    tap(`relu${block}_${layer}`, 'ReLU');
    layer++;
  }
}

export const vggFamily = defineFamily({
  family: 'vgg',
  variants: VARIANTS,
  build: vggGraph,
  // the study's four points per network (docs/PROTOCOL.md section 2)
  studyPoints: {
    vgg11: ['relu1_1', 'relu2_1', 'relu3_2', 'relu5_2'],
    vgg16: ['relu1_2', 'relu2_2', 'relu3_3', 'relu5_3'],
    vgg16_bn: ['relu1_2', 'relu2_2', 'relu3_3', 'relu5_3'],
    vgg19: ['relu1_2', 'relu2_2', 'relu3_4', 'relu5_4'],
  },
  batchNorm: false,
  // the classifier is not a loss-network layer
  ignorePrefixes: ['classifier.'],
});

export const VGG_IDS = vggFamily.ids;
export const vggBackbones = (): GraphBackbone[] => vggFamily.backbones();
