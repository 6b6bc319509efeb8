import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/**
 * torchvision's ResNet variants: block type, blocks per stage, and the Bottleneck's groups /
 * width_per_group; V1 weights, ImageNet top-1 and params (M) of the full model, fc included, from
 * torchvision 0.14's `<Model>_Weights.IMAGENET1K_V1`.
 */
interface Arch extends FamilyVariant {
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  groups: number;
  widthPerGroup: number;
}

const ARCHS: Record<string, Arch> = {
  resnet18: {
    weights: 'resnet18-f37072fd.pth',
    top1: 69.758,
    params: 11.69,
    block: 'basic',
    layers: [2, 2, 2, 2],
    groups: 1,
    widthPerGroup: 64,
    description: 'ResNet-18 (He et al. 2015)',
  },
  resnet34: {
    weights: 'resnet34-b627a593.pth',
    top1: 73.314,
    params: 21.8,
    block: 'basic',
    layers: [3, 4, 6, 3],
    groups: 1,
    widthPerGroup: 64,
    description: 'ResNet-34 (He et al. 2015)',
  },
  resnet50: {
    weights: 'resnet50-0676ba61.pth',
    top1: 76.13,
    params: 25.56,
    block: 'bottleneck',
    layers: [3, 4, 6, 3],
    groups: 1,
    widthPerGroup: 64,
    description: 'ResNet-50 (He et al. 2015; torchvision v1.5: stride on the 3x3 conv)',
  },
  resnet101: {
    weights: 'resnet101-63fe2227.pth',
    top1: 77.374,
    params: 44.55,
    block: 'bottleneck',
    layers: [3, 4, 23, 3],
    groups: 1,
    widthPerGroup: 64,
    description: 'ResNet-101 (He et al. 2015; torchvision v1.5)',
  },
  resnet152: {
    weights: 'resnet152-394f9c45.pth',
    top1: 78.312,
    params: 60.19,
    block: 'bottleneck',
    layers: [3, 8, 36, 3],
    groups: 1,
    widthPerGroup: 64,
    description: 'ResNet-152 (He et al. 2015; torchvision v1.5)',
  },
  resnext50_32x4d: {
    weights: 'resnext50_32x4d-7cdf4587.pth',
    top1: 77.618,
    params: 25.03,
    block: 'bottleneck',
    layers: [3, 4, 6, 3],
    groups: 32,
    widthPerGroup: 4,
    description: 'ResNeXt-50 32x4d (Xie et al. 2016): grouped 3x3 convs, 32 groups of width 4',
  },
  resnext101_32x8d: {
    weights: 'resnext101_32x8d-8ba56ff5.pth',
    top1: 79.312,
    params: 88.79,
    block: 'bottleneck',
    layers: [3, 4, 23, 3],
    groups: 32,
    widthPerGroup: 8,
    description: 'ResNeXt-101 32x8d (Xie et al. 2016): grouped 3x3 convs, 32 groups of width 8',
  },
  wide_resnet50_2: {
    weights: 'wide_resnet50_2-95faca4d.pth',
    top1: 78.468,
    params: 68.88,
    block: 'bottleneck',
    layers: [3, 4, 6, 3],
    groups: 1,
    widthPerGroup: 128,
    description: 'Wide ResNet-50-2 (Zagoruyko & Komodakis 2016): Bottleneck inner width doubled',
  },
  wide_resnet101_2: {
    weights: 'wide_resnet101_2-32ee1156.pth',
    top1: 78.848,
    params: 126.89,
    block: 'bottleneck',
    layers: [3, 4, 23, 3],
    groups: 1,
    widthPerGroup: 128,
    description: 'Wide ResNet-101-2 (Zagoruyko & Komodakis 2016): Bottleneck inner width doubled',
  },
};

/** conv (no bias, as every torchvision ResNet conv) + BN under the same module prefix numbering. */
function convBn(g: GraphBuilder, x: Ref, conv: string, bn: string, out: number, k: number, stride = 1, groups = 1): Ref {
  const y = g.conv(x, conv, { out, k, stride, pad: (k - 1) >> 1, groups, bias: false });
  return g.batchNorm(y, bn);
}

/** torchvision BasicBlock: conv3x3(stride)-bn-relu-conv3x3-bn, + identity or 1x1 downsample, relu. */
function basicBlock(g: GraphBuilder, x: Ref, key: string, planes: number, stride: number): Ref {
  let y = g.relu(convBn(g, x, `${key}.conv1`, `${key}.bn1`, planes, 3, stride));
  y = convBn(g, y, `${key}.conv2`, `${key}.bn2`, planes, 3);
  const id = stride !== 1 || x.channels !== planes ? convBn(g, x, `${key}.downsample.0`, `${key}.downsample.1`, planes, 1, stride) : x;
  return g.relu(g.add2(y, id));
}

/**
 * torchvision Bottleneck (v1.5: the stride sits on the 3x3 conv, which also carries the groups):
 * 1x1 to width, 3x3 grouped, 1x1 to planes*4, + identity or 1x1 downsample, relu.
 */
function bottleneck(g: GraphBuilder, x: Ref, key: string, planes: number, stride: number, a: Arch): Ref {
  const width = Math.floor(planes * (a.widthPerGroup / 64)) * a.groups;
  const out = planes * 4;
  let y = g.relu(convBn(g, x, `${key}.conv1`, `${key}.bn1`, width, 1));
  y = g.relu(convBn(g, y, `${key}.conv2`, `${key}.bn2`, width, 3, stride, a.groups));
  y = convBn(g, y, `${key}.conv3`, `${key}.bn3`, out, 1);
  const id = stride !== 1 || x.channels !== out ? convBn(g, x, `${key}.downsample.0`, `${key}.downsample.1`, out, 1, stride) : x;
  return g.relu(g.add2(y, id));
}

/**
 * The model's top-level children up to layer4 (avgpool and fc are not loss-network layers).
 * Taps: each child by its torchvision name with `studyIndex` = its registration index, and every
 * residual block `layerL.B` (its output after the final ReLU; the last block of a stage taps the
 * same node as the stage).
 */
function resnetGraph(g: GraphBuilder, a: Arch): void {
  const child = (name: string, x: Ref, idx: number, what: string) => {
    g.tap(name, x, { studyIndex: idx, description: `top-level child ${idx} (${name}): ${what}` });
  };
  let x = g.input(3);
  x = g.conv(x, 'conv1', { out: 64, k: 7, stride: 2, pad: 3, bias: false });
  child('conv1', x, 0, 'stem conv 7x7 stride 2, 64 channels');
  x = g.batchNorm(x, 'bn1');
  child('bn1', x, 1, 'stem batch norm');
  x = g.relu(x);
  child('relu', x, 2, 'stem ReLU');
  x = g.maxPool(x, { k: 3, stride: 2, pad: 1 });
  child('maxpool', x, 3, 'max pool 3x3 stride 2');
  const expansion = a.block === 'basic' ? 1 : 4;
  [64, 128, 256, 512].forEach((planes, s) => {
    const layer = `layer${s + 1}`;
    for (let b = 0; b < a.layers[s]; b++) {
      const key = `${layer}.${b}`;
      const stride = b === 0 && s > 0 ? 2 : 1;
      x = a.block === 'basic' ? basicBlock(g, x, key, planes, stride) : bottleneck(g, x, key, planes, stride, a);
      g.tap(key, x, { description: `output of residual block ${key} (after its final ReLU)` });
    }
    child(
      layer,
      x,
      4 + s,
      `stage ${s + 1}: ${a.layers[s]} ${a.block === 'basic' ? 'basic' : 'bottleneck'} blocks, ${planes * expansion} channels`,
    );
  });
}

/** The study's networks; their points are top-level children 2, 4, 5, 7 (docs/PROTOCOL.md section 2). */
const PAPER_POINTS = ['relu', 'layer1', 'layer2', 'layer4'];

export const resnetFamily = defineFamily({
  family: 'resnet',
  variants: ARCHS,
  build: resnetGraph,
  studyPoints: { resnet18: PAPER_POINTS, resnet50: PAPER_POINTS, resnext50_32x4d: PAPER_POINTS },
  batchNorm: true,
  ignorePrefixes: ['fc.'],
});

export const RESNET_IDS = resnetFamily.ids;
export const resnetBackbones = (): GraphBackbone[] => resnetFamily.backbones();
