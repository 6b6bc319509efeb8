import { defineBackbone, type GraphBackbone, type GraphBuilder } from '@dpl/core';

type Cfg = (number | 'M')[];

/** torchvision's VGG configurations (features only; the classifier is not a loss-network layer). */
const CFGS: Record<string, Cfg> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/** The study's four points per network (docs/PROTOCOL.md section 2), by name. */
const PAPER_POINTS: Record<string, string[]> = {
  vgg11: ['relu1_1', 'relu2_1', 'relu3_2', 'relu5_2'],
  vgg16: ['relu1_2', 'relu2_2', 'relu3_3', 'relu5_3'],
  vgg16_bn: ['relu1_2', 'relu2_2', 'relu3_3', 'relu5_3'],
  vgg19: ['relu1_2', 'relu2_2', 'relu3_4', 'relu5_4'],
};

/** torchvision V1 weights: [file, ImageNet top-1, params (M)]. */
const WEIGHTS: Record<string, [string, number, number]> = {
  vgg11: ['vgg11-8a719046.pth', 69.02, 132.86],
  vgg11_bn: ['vgg11_bn-6002323d.pth', 70.37, 132.87],
  vgg13: ['vgg13-19584684.pth', 69.928, 133.05],
  vgg13_bn: ['vgg13_bn-abd245e5.pth', 71.586, 133.05],
  vgg16: ['vgg16-397923af.pth', 71.592, 138.36],
  vgg16_bn: ['vgg16_bn-6c64b313.pth', 73.36, 138.37],
  vgg19: ['vgg19-dcbb9e9d.pth', 72.376, 143.67],
  vgg19_bn: ['vgg19_bn-c79401a0.pth', 74.218, 143.68],
};

/**
 * Builds `model.features` exactly as torchvision does: conv3x3(pad 1) [+ BN] + ReLU per number,
 * maxpool 2x2 per 'M'. Every output is a tap named convB_I / bnB_I / reluB_I / poolB and also
 * addressable by its index in `features` (the study's module index).
 */
function vggGraph(g: GraphBuilder, cfg: Cfg, bn: boolean, paper: string[]): void {
  let x = g.input(3);
  let idx = 0;
  let block = 1;
  let layer = 1;
  const tap = (name: string, what: string) => {
    const paperIndex = paper.indexOf(name);
    g.tap(name, x, { studyIndex: idx, paperIndex: paperIndex >= 0 ? paperIndex + 1 : undefined, description: `features.${idx}: ${what}` });
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

function vgg(id: string): GraphBackbone {
  const base = id.replace('_bn', '');
  const bn = id.endsWith('_bn');
  const [file, top1, params] = WEIGHTS[id];
  const paper = PAPER_POINTS[id] ?? [];
  return defineBackbone({
    id,
    family: 'vgg',
    metadata: {
      imagenetTop1: top1,
      paramsMillions: params,
      batchNorm: bn,
      normalization: 'imagenet',
      inStudy: paper.length > 0,
      weights: { file, url: `https://download.pytorch.org/models/${file}`, sha256Prefix: file.replace(/^.*-([0-9a-f]+)\.pth$/, '$1') },
      description: `VGG-${base.slice(3)}${bn ? ' with batch normalisation' : ''} (Simonyan & Zisserman 2014)`,
    },
    graph: (g) => vggGraph(g, CFGS[base], bn, paper),
    ignorePrefixes: ['classifier.'],
  });
}

export const VGG_IDS = Object.keys(WEIGHTS);
export const vggBackbones = (): GraphBackbone[] => VGG_IDS.map(vgg);
