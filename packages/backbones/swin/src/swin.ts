import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/** One Swin Transformer V1 (Liu et al. 2021) as torchvision 0.14 builds it. */
interface Variant extends FamilyVariant {
  /** Channels of stage 1 (doubled by every patch merging). */
  embed: number;
  /** Transformer blocks per stage. */
  depths: [number, number, number, number];
  /** Attention heads per stage. */
  heads: [number, number, number, number];
  /** torchvision's stochastic_depth_prob: the last block's drop probability. */
  stochasticDepth: number;
}

/** Every variant's attention window (torchvision window_size=[7, 7]). */
export const WINDOW = 7;
/** Every variant's patch size: features.0 is a 4x4 conv of stride 4. */
const PATCH = 4;

/** A stage's module index in `model.features`: stages are 1, 3, 5, 7; patch mergings 2, 4, 6 sit between. */
const stageModule = (s: number) => `features.${2 * s - 1}`;

const variant = (
  name: string,
  embed: number,
  depths: Variant['depths'],
  heads: Variant['heads'],
  stochasticDepth: number,
  weights: string,
  top1: number,
  params: number,
): Variant => ({
  embed,
  depths,
  heads,
  stochasticDepth,
  weights,
  top1,
  params,
  description: `${name} (Liu et al. 2021; ${embed} channels, blocks ${depths.join('-')}, heads ${heads.join('-')}, window ${WINDOW})`,
});

/** torchvision 0.14 swin_t / swin_s / swin_b: builder arguments and IMAGENET1K_V1 meta (url, acc@1, num_params). */
const VARIANTS: Record<string, Variant> = {
  swin_t: variant('Swin-T', 96, [2, 2, 6, 2], [3, 6, 12, 24], 0.2, 'swin_t-704ceda3.pth', 81.474, 28.29),
  swin_s: variant('Swin-S', 96, [2, 2, 18, 2], [3, 6, 12, 24], 0.3, 'swin_s-5e29d889.pth', 83.196, 49.61),
  swin_b: variant('Swin-B', 128, [2, 2, 18, 2], [4, 8, 16, 32], 0.5, 'swin_b-68c6b09e.pth', 83.582, 87.77),
};

/**
 * torchvision's SwinTransformerBlock at `key`: x + attn(norm1(x)), then x + mlp(norm2(x)), the MLP
 * being Linear(C, 4C) (mlp.0), GELU, Linear(4C, C) (mlp.3). Both residual branches carry the block's
 * stochastic-depth probability (the identity in eval mode).
 */
function swinBlock(g: GraphBuilder, x: Ref, key: string, heads: number, shift: number, dropPath: number): Ref {
  const c = x.channels;
  let y = g.layerNorm(x, `${key}.norm1`);
  y = g.attention(y, `${key}.attn`, { heads, params: 'qkv', window: WINDOW, shift, relativePositionBias: true });
  x = g.add2(y, x, dropPath);
  y = g.layerNorm(x, `${key}.norm2`);
  y = g.act(g.channelLinear(y, `${key}.mlp.0`, 4 * c), 'gelu');
  y = g.channelLinear(y, `${key}.mlp.3`, c);
  return g.add2(y, x, dropPath);
}

/**
 * Builds `model.features` and the final `model.norm` as torchvision does; maps stay NHWC throughout,
 * as torchvision's do after features.0's Permute. Taps: `stem` (features.0), every block `stageS.B`
 * (features.{2S-1}.B), `stageS` (the stage's output, alias of its last block), `merge1`..`merge3`
 * (the patch mergings features.2, .4, .6) and `norm` (the final LayerNorm, before pooling and head).
 */
function swinGraph(g: GraphBuilder, v: Variant): Ref {
  let x = g.input(3);
  x = g.conv(x, 'features.0.0', { out: v.embed, k: PATCH, stride: PATCH });
  x = g.layerNorm(x, 'features.0.2');
  g.tap('stem', x, {
    torchModule: 'features.0',
    description: `features.0: patch embedding (conv 4x4 stride 4 + LayerNorm), ${v.embed} channels`,
  });

  // torchvision: block j of all n gets stochastic_depth_prob * j / (n - 1)
  const total = v.depths.reduce((a, b) => a + b, 0);
  let blockId = 0;
  v.depths.forEach((depth, i) => {
    const s = i + 1;
    if (s > 1) {
      const merge = `features.${2 * s - 2}`;
      x = g.patchMerge(x);
      x = g.layerNorm(x, `${merge}.norm`);
      x = g.channelLinear(x, `${merge}.reduction`, x.channels / 2, false);
      g.tap(`merge${s - 1}`, x, {
        torchModule: merge,
        description: `${merge}: patch merging (2x2 gather + LayerNorm + Linear), ${x.channels} channels`,
      });
    }
    for (let b = 0; b < depth; b++) {
      const key = `${stageModule(s)}.${b}`;
      // even blocks attend in regular windows, odd ones in windows shifted by half a window
      const shift = b % 2 ? WINDOW >> 1 : 0;
      x = swinBlock(g, x, key, v.heads[i], shift, (v.stochasticDepth * blockId++) / (total - 1));
      const what = `Swin block (${v.heads[i]} heads, ${shift ? `shift ${shift}` : 'no shift'}), ${x.channels} channels`;
      if (b < depth - 1) g.tap(`stage${s}.${b}`, x, { torchModule: key, description: `${key}: ${what}` });
    }
    g.tap(`stage${s}`, x, {
      torchModule: stageModule(s),
      aliases: [`stage${s}.${depth - 1}`],
      description: `${stageModule(s)}: stage ${s} (${depth} Swin blocks, ${v.heads[i]} heads), ${x.channels} channels`,
    });
  });

  x = g.layerNorm(x, 'norm');
  g.tap('norm', x, { torchModule: 'norm', description: `norm: the final LayerNorm (before pooling and head), ${x.channels} channels` });
  return x;
}

/**
 * The tap whose relative depth (blocks done / all blocks) is nearest 1/2, ties to the earlier
 * (the points rule in this package's README): a block inside a stage, or a stage's end.
 */
export function middleBlock(depths: readonly number[]): string {
  const total = depths.reduce((a, b) => a + b, 0);
  let best = '';
  let bestDist = Infinity;
  let done = 0;
  depths.forEach((depth, i) => {
    for (let b = 0; b < depth; b++) {
      done++;
      // |done / total - 1/2| in integers, so ties are exact
      const d = Math.abs(2 * done - total);
      if (d < bestDist) {
        bestDist = d;
        best = b === depth - 1 ? `stage${i + 1}` : `stage${i + 1}.${b}`;
      }
    }
  });
  return best;
}

/** The four default points (E1..E4): patch embedding, end of stage 1, the block at half depth, the last block (before the final norm). */
const DEFAULT_POINTS = Object.fromEntries(
  Object.entries(VARIANTS).map(([id, v]) => [id, ['stem', 'stage1', middleBlock(v.depths), 'stage4']]),
);

export const swinFamily = defineFamily({
  family: 'swin',
  variants: VARIANTS,
  build: (g, v) => swinGraph(g, v),
  defaultPoints: DEFAULT_POINTS,
  batchNorm: false,
  // the classifier; each attention's relative_position_index buffer the attention op derives from
  // the window (the binding accepts it when present and checks its shape)
  ignorePrefixes: ['head.'],
});

export const SWIN_IDS = swinFamily.ids;
export const swinBackbones = (): GraphBackbone[] => swinFamily.backbones();
