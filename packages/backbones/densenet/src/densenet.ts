import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/** torchvision's DenseNet configurations. */
interface DenseNetCfg extends FamilyVariant {
  growth: number;
  blocks: [number, number, number, number];
  initFeatures: number;
}

/** torchvision: bn_size = 4, so each dense layer's bottleneck has 4 * growth channels. */
const BN_SIZE = 4;

/** Every variant with its torchvision V1 weights, ImageNet top-1 and params (M) of the whole model. */
const variant = (
  depth: number,
  growth: number,
  blocks: DenseNetCfg['blocks'],
  initFeatures: number,
  weights: string,
  top1: number,
  params: number,
): DenseNetCfg => ({
  growth,
  blocks,
  initFeatures,
  weights,
  top1,
  params,
  description: `DenseNet-${depth} (Huang et al. 2017), growth rate ${growth}`,
});

const CFGS: Record<string, DenseNetCfg> = {
  densenet121: variant(121, 32, [6, 12, 24, 16], 64, 'densenet121-a639ec97.pth', 74.434, 7.98),
  densenet161: variant(161, 48, [6, 12, 36, 24], 96, 'densenet161-8d451a50.pth', 77.138, 28.68),
  densenet169: variant(169, 32, [6, 12, 32, 32], 64, 'densenet169-b2777c0a.pth', 75.6, 14.15),
  densenet201: variant(201, 32, [6, 12, 48, 32], 64, 'densenet201-c1103571.pth', 76.896, 20.01),
};

/**
 * The V1 checkpoints predate PyTorch's ban on '.' in module names and store dense-layer keys as
 * `denselayerN.norm.1.weight` / `conv.2.weight`; torchvision joins the digit on load
 * (`norm1`, `conv2`). Same key set as torchvision's rename; every other key passes unchanged.
 */
const LEGACY_KEY = /^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var))$/;

export function densenetLegacyKey(key: string): string {
  const m = LEGACY_KEY.exec(key);
  return m ? m[1] + m[2] : key;
}

/**
 * Builds `model.features` as torchvision does: stem (conv0 7x7/2, norm0, relu0, max pool 3/2),
 * four dense blocks with transitions (BN, ReLU, 1x1 conv halving channels, avg pool 2/2) between
 * them, and norm5. torchvision's forward applies a ReLU after features, which the study's module
 * list does not contain, so the graph ends at norm5.
 *
 * A dense layer reads the concatenation of the block input and every earlier layer's output and
 * adds `growth` channels, so the running concatenation after layer N is both the next layer's
 * input and a natural extraction point (`denseblockK.denselayerN`); after the last layer it is the
 * block's output (`denseblockK`, to which the last layer's name is an alias).
 */
function densenetGraph(g: GraphBuilder, cfg: DenseNetCfg): void {
  const { growth, blocks, initFeatures } = cfg;
  let idx = 0;
  // a module-list child of features, with its study index
  const child = (name: string, x: Ref, what: string, aliases?: string[]) => {
    g.tap(name, x, { studyIndex: idx, description: `features.${idx}: ${what}`, aliases });
    idx++;
  };

  let x = g.input(3);
  x = g.conv(x, 'features.conv0', { out: initFeatures, k: 7, stride: 2, pad: 3, bias: false });
  child('conv0', x, `conv 7x7/2, ${initFeatures} channels`);
  x = g.batchNorm(x, 'features.norm0');
  child('norm0', x, 'batch norm');
  x = g.relu(x);
  child('relu0', x, 'ReLU (end of the stem before pooling)');
  x = g.maxPool(x, { k: 3, stride: 2, pad: 1 });
  child('pool0', x, 'max pool 3x3/2');

  blocks.forEach((layers, bi) => {
    const b = `denseblock${bi + 1}`;
    const key = `features.${b}`;
    for (let l = 1; l <= layers; l++) {
      const lk = `${key}.denselayer${l}`;
      let y = g.batchNorm(x, `${lk}.norm1`);
      y = g.relu(y);
      y = g.conv(y, `${lk}.conv1`, { out: BN_SIZE * growth, k: 1, bias: false });
      y = g.batchNorm(y, `${lk}.norm2`);
      y = g.relu(y);
      y = g.conv(y, `${lk}.conv2`, { out: growth, k: 3, pad: 1, bias: false });
      // torch.cat(block input, new_1..new_l): concatenating onto the running result is the same
      x = g.concat([x, y]);
      const name = `${b}.denselayer${l}`;
      if (l < layers) {
        g.tap(name, x, { description: `${b} after denselayer${l}: block input and ${l} x ${growth} new channels` });
      } else {
        child(b, x, `dense block ${bi + 1} (${layers} layers, ${x.channels} channels)`, [name]);
      }
    }
    if (bi < blocks.length - 1) {
      const t = `transition${bi + 1}`;
      const tk = `features.${t}`;
      const out = Math.floor(x.channels / 2);
      x = g.batchNorm(x, `${tk}.norm`);
      x = g.relu(x);
      g.tap(`${t}.relu`, x, { description: `${t}: BN + ReLU of ${b} (before the 1x1 conv)` });
      x = g.conv(x, `${tk}.conv`, { out, k: 1, bias: false });
      g.tap(`${t}.conv`, x, { description: `${t}: 1x1 conv to ${out} channels (before pooling)` });
      x = g.avgPool(x, { k: 2, stride: 2 });
      child(t, x, `transition ${bi + 1} (BN, ReLU, 1x1 conv, avg pool 2x2)`);
    }
  });
  x = g.batchNorm(x, 'features.norm5');
  child('norm5', x, 'final batch norm (torchvision applies a ReLU after it outside features)');
}

export const densenetFamily = defineFamily({
  family: 'densenet',
  variants: CFGS,
  build: densenetGraph,
  // the study's four points (docs/PROTOCOL.md section 2); only densenet121 is in the study
  studyPoints: { densenet121: ['relu0', 'denseblock1', 'denseblock2', 'denseblock4'] },
  batchNorm: true,
  ignorePrefixes: ['classifier.'],
  renameKey: densenetLegacyKey,
});

export const DENSENET_IDS = densenetFamily.ids;
export const densenetBackbones = (): GraphBackbone[] => densenetFamily.backbones();
