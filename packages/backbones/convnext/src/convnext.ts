import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/** One ConvNeXt stage: its width and number of CNBlocks (torchvision's CNBlockConfig). */
interface StageCfg {
  channels: number;
  blocks: number;
}

interface Variant extends FamilyVariant {
  stages: StageCfg[];
  /** torchvision's stochastic_depth_prob for this size (only active in train mode). */
  stochasticDepth: number;
}

const stages = (channels: number[], blocks: number[]): StageCfg[] => channels.map((c, i) => ({ channels: c, blocks: blocks[i] }));

/** The variants table row: torchvision IMAGENET1K_V1 weights, ImageNet top-1, params (M) of the whole model. */
const variant = (
  size: string,
  channels: number[],
  blocks: number[],
  stochasticDepth: number,
  weights: string,
  top1: number,
  params: number,
): Variant => ({
  stages: stages(channels, blocks),
  stochasticDepth,
  weights,
  top1,
  params,
  description: `ConvNeXt-${size} (Liu et al. 2022; widths ${channels.join('/')}, blocks ${blocks.join('/')})`,
});

/** torchvision 0.14 convnext_tiny/small/base/large (block_setting, stochastic_depth_prob, IMAGENET1K_V1 meta). */
const VARIANTS: Record<string, Variant> = {
  convnext_tiny: variant('T', [96, 192, 384, 768], [3, 3, 9, 3], 0.1, 'convnext_tiny-983f1562.pth', 82.52, 28.589128),
  convnext_small: variant('S', [96, 192, 384, 768], [3, 3, 27, 3], 0.4, 'convnext_small-0c510722.pth', 83.616, 50.223688),
  convnext_base: variant('B', [128, 256, 512, 1024], [3, 3, 27, 3], 0.5, 'convnext_base-6075fbad.pth', 84.062, 88.591464),
  convnext_large: variant('L', [192, 384, 768, 1536], [3, 3, 27, 3], 0.5, 'convnext_large-ea097f82.pth', 84.414, 197.767336),
};

/** torchvision's LayerNorm eps everywhere in ConvNeXt (LayerNorm2d and the blocks' LayerNorm). */
const EPS = 1e-6;

/**
 * torchvision's CNBlock at `key` (features.S.B): depthwise 7x7 conv (block.0), LayerNorm over the
 * channels (block.2), Linear to 4C (block.3), GELU, Linear back to C (block.5), times layer_scale,
 * plus the input. The branch carries the block's stochastic-depth probability (the identity in
 * eval mode). The two Permutes (block.1, block.6) are no-ops here: dpl's maps are NHWC already.
 */
function cnBlock(g: GraphBuilder, x: Ref, key: string, dropPath: number): Ref {
  const c = x.channels;
  let y = g.conv(x, `${key}.block.0`, { out: c, k: 7, pad: 3, groups: c });
  y = g.layerNorm(y, `${key}.block.2`, EPS);
  y = g.act(g.channelLinear(y, `${key}.block.3`, 4 * c), 'gelu');
  y = g.channelLinear(y, `${key}.block.5`, c);
  y = g.channelScale(y, `${key}.layer_scale`);
  return g.add2(y, x, dropPath);
}

/**
 * The default points (docs/MODERN.md, "Extraction points"): E1 the stem, E2 the end of the first
 * stage, E3 the block boundary whose relative depth (blocks done / all blocks) is nearest 1/2, ties
 * to the earlier, E4 the last block (before the classifier's LayerNorm).
 */
export function convnextDefaultPoints(id: string): string[] {
  const st = VARIANTS[id].stages;
  const total = st.reduce((n, s) => n + s.blocks, 0);
  // the nearest to total/2 of "blocks done" after each block, the earlier on ties
  let best = { dist: Infinity, name: '' };
  let done = 0;
  st.forEach((s, i) => {
    for (let b = 0; b < s.blocks; b++) {
      const dist = Math.abs(++done / total - 0.5);
      if (dist < best.dist - 1e-12) best = { dist, name: b === s.blocks - 1 ? `stage${i + 1}` : `stage${i + 1}.${b}` };
    }
  });
  return ['stem', 'stage1', best.name, `stage${st.length}`];
}

/**
 * Builds `model.features` as torchvision does: stem (features.0: conv 4x4 stride 4 + LayerNorm2d),
 * then per stage its CNBlocks (features.1, .3, .5, .7) and between stages a downsampling layer
 * (features.2, .4, .6: LayerNorm2d + conv 2x2 stride 2). Taps: `stem`, every block `stageS.B`
 * (the last block of a stage is the stage's output, named `stageS` with `stageS.B` an alias) and
 * the downsampling outputs `downS`; each names the torchvision module whose output it equals.
 */
function convnextGraph(g: GraphBuilder, v: Variant): void {
  const st = v.stages;
  let x = g.input(3);
  x = g.conv(x, 'features.0.0', { out: st[0].channels, k: 4, stride: 4 });
  x = g.layerNorm(x, 'features.0.1', EPS);
  g.tap('stem', x, {
    torchModule: 'features.0',
    description: `features.0: stem conv 4x4 stride 4 + LayerNorm2d, ${st[0].channels} channels`,
  });

  // torchvision: block j of all n blocks gets stochastic_depth_prob * j / (n - 1)
  const total = st.reduce((n, s) => n + s.blocks, 0);
  let blockId = 0;
  st.forEach((s, i) => {
    const stage = i + 1;
    const mod = `features.${2 * i + 1}`;
    for (let b = 0; b < s.blocks; b++) {
      x = cnBlock(g, x, `${mod}.${b}`, (v.stochasticDepth * blockId++) / (total - 1));
      const what = `CNBlock (depthwise 7x7, LayerNorm, MLP x4 with GELU, layer scale), ${s.channels} channels`;
      if (b < s.blocks - 1) g.tap(`stage${stage}.${b}`, x, { torchModule: `${mod}.${b}`, description: `${mod}.${b}: ${what}` });
      else
        g.tap(`stage${stage}`, x, {
          torchModule: mod,
          aliases: [`stage${stage}.${b}`],
          description: `${mod}: stage ${stage} (${s.blocks} CNBlocks), ${s.channels} channels; = ${mod}.${b}`,
        });
    }
    if (i < st.length - 1) {
      const down = `features.${2 * i + 2}`;
      const out = st[i + 1].channels;
      x = g.layerNorm(x, `${down}.0`, EPS);
      x = g.conv(x, `${down}.1`, { out, k: 2, stride: 2 });
      g.tap(`down${stage}`, x, {
        torchModule: down,
        description: `${down}: downsampling LayerNorm2d + conv 2x2 stride 2, ${out} channels`,
      });
    }
  });
}

export const convnextFamily = defineFamily({
  family: 'convnext',
  variants: VARIANTS,
  build: convnextGraph,
  defaultPoints: Object.fromEntries(Object.keys(VARIANTS).map((id) => [id, convnextDefaultPoints(id)])),
  batchNorm: false,
  // the classifier's LayerNorm2d and Linear run after the last point
  ignorePrefixes: ['classifier.'],
});

export const CONVNEXT_IDS = convnextFamily.ids;
export const convnextBackbones = (): GraphBackbone[] => convnextFamily.backbones();
