import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/** One network of torchvision's VisionTransformer (Dosovitskiy et al. 2021, table 1). */
interface Variant extends FamilyVariant {
  patch: number;
  layers: number;
  heads: number;
  hidden: number;
  mlp: number;
  /** The input size the weights were trained at: the positional embedding covers (image / patch)^2 patches. */
  image: number;
}

const variant = (
  name: string,
  patch: number,
  [layers, heads, hidden, mlp]: [number, number, number, number],
  image: number,
  weights: string,
  top1: number,
  params: number,
): Variant => ({
  patch,
  layers,
  heads,
  hidden,
  mlp,
  image,
  weights,
  top1,
  params,
  description: `ViT-${name}/${patch} (Dosovitskiy et al. 2021; ${layers} blocks, width ${hidden}, ${heads} heads)`,
});

const BASE: [number, number, number, number] = [12, 12, 768, 3072];
const LARGE: [number, number, number, number] = [24, 16, 1024, 4096];

/**
 * torchvision 0.14 vit_* (architecture arguments, weights url and meta). Not vit_h_14 (patch 14,
 * 32 blocks, width 1280, 632M parameters): 2.5 GB of float32 weights are more than either engine
 * runs correctly today (see the README).
 */
const VARIANTS: Record<string, Variant> = {
  vit_b_16: variant('B', 16, BASE, 224, 'vit_b_16-c867db91.pth', 81.072, 86.57),
  vit_b_32: variant('B', 32, BASE, 224, 'vit_b_32-d86f8d99.pth', 75.912, 88.22),
  vit_l_16: variant('L', 16, LARGE, 224, 'vit_l_16-852ce7e3.pth', 79.662, 304.33),
  vit_l_32: variant('L', 32, LARGE, 224, 'vit_l_32-c7638314.pth', 76.972, 306.54),
};

/** torchvision's ViT LayerNorm eps. */
const LN_EPS = 1e-6;

/**
 * torchvision's EncoderBlock at `key` (encoder.layers.encoder_layer_i): x + attention(ln_1(x)), then
 * + mlp(ln_2(.)) with mlp = Linear (mlp.0), GELU, Linear (mlp.3); its dropouts are the identity in eval.
 */
function encoderBlock(g: GraphBuilder, x: Ref, key: string, v: Variant): Ref {
  const a = g.attention(g.layerNorm(x, `${key}.ln_1`, LN_EPS), `${key}.self_attention`, { heads: v.heads, params: 'mha' });
  x = g.add2(a, x);
  let y = g.layerNorm(x, `${key}.ln_2`, LN_EPS);
  y = g.act(g.channelLinear(y, `${key}.mlp.0`, v.mlp), 'gelu');
  y = g.channelLinear(y, `${key}.mlp.3`, v.hidden);
  return g.add2(x, y);
}

/**
 * Builds VisionTransformer up to encoder.ln: the patch conv (conv_proj), the class token, the
 * positional embedding (resized for grids other than the trained one), the encoder blocks and the
 * final LayerNorm. Points are maps: every tap after the patch conv is the token row through
 * tokensToMap (the class token dropped, the patch tokens as the h x w grid, NHWC). Taps: `stem`
 * (conv_proj), `embed` (tokens + positional embedding, encoder.dropout), `block1`..`blockL` (the
 * blocks done; encoder_layer_{i-1}) and `norm` (encoder.ln).
 */
function vitGraph(g: GraphBuilder, v: Variant): Ref {
  const x = g.input(3);
  const patches = g.conv(x, 'conv_proj', { out: v.hidden, k: v.patch, stride: v.patch });
  g.tap('stem', patches, {
    torchModule: 'conv_proj',
    description: `conv_proj: ${v.patch}x${v.patch} patch embedding, stride ${v.patch}, ${v.hidden} channels`,
  });
  const grid = v.image / v.patch;
  let t = g.posEmbed(g.classToken(patches, 'class_token'), patches, 'encoder.pos_embedding', grid);
  g.tap('embed', g.tokensToMap(t, patches), {
    torchModule: 'encoder.dropout',
    description: `encoder.dropout: patch tokens + positional embedding (trained on ${grid}x${grid} patches), class token dropped`,
  });
  for (let i = 0; i < v.layers; i++) {
    const key = `encoder.layers.encoder_layer_${i}`;
    t = encoderBlock(g, t, key, v);
    g.tap(`block${i + 1}`, g.tokensToMap(t, patches), {
      torchModule: key,
      description: `${key}: transformer block ${i + 1} of ${v.layers}, ${v.hidden} channels, class token dropped`,
    });
  }
  const out = g.tokensToMap(g.layerNorm(t, 'encoder.ln', LN_EPS), patches);
  g.tap('norm', out, { torchModule: 'encoder.ln', description: `encoder.ln: final LayerNorm, ${v.hidden} channels, class token dropped` });
  return out;
}

/** The block (1..n) whose relative depth b / n is nearest `f`, ties to the earlier. */
function blockAt(n: number, f: number): number {
  let best = 1;
  // compared as |b - f * n| (exact for quarter fractions), so a tie really is one
  for (let b = 2; b <= n; b++) if (Math.abs(b - f * n) < Math.abs(best - f * n)) best = b;
  return best;
}

/** The four points (E1..E4): the patch map, the blocks at relative depth 1/4 and 1/2, the last block (before encoder.ln). */
export const vitDefaultPoints = (layers: number): string[] => [
  'stem',
  `block${blockAt(layers, 1 / 4)}`,
  `block${blockAt(layers, 1 / 2)}`,
  `block${layers}`,
];

/** The published checkpoints predate torchvision 0.14's MLP: mlp.linear_1 / mlp.linear_2 are mlp.0 / mlp.3 (MLPBlock._load_from_state_dict). */
export function vitLegacyKey(key: string): string {
  return key.replace(/\.mlp\.linear_([12])\./, (_m, i: string) => `.mlp.${3 * (Number(i) - 1)}.`);
}

export const vitFamily = defineFamily({
  family: 'vit',
  variants: VARIANTS,
  build: (g, v) => vitGraph(g, v),
  defaultPoints: Object.fromEntries(Object.entries(VARIANTS).map(([id, v]) => [id, vitDefaultPoints(v.layers)])),
  batchNorm: false,
  ignorePrefixes: ['heads.'],
  renameKey: vitLegacyKey,
});

/** The architecture of one network: patch size, blocks, heads, width, MLP width and the trained input size. */
export function vitShape(id: string): Omit<Variant, keyof FamilyVariant> {
  if (!(id in VARIANTS)) vitFamily.backbone(id); // throws the family's error naming the ids
  const { patch, layers, heads, hidden, mlp, image } = VARIANTS[id];
  return { patch, layers, heads, hidden, mlp, image };
}

export const VIT_IDS = vitFamily.ids;
export const vitBackbones = (): GraphBackbone[] => vitFamily.backbones();
