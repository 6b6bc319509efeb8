import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/** One stage of EfficientNet-B0 (Tan & Le 2019, table 1), before width/depth scaling. */
interface StageCfg {
  expand: number;
  k: number;
  stride: number;
  in: number;
  out: number;
  layers: number;
}

/** torchvision's base stages (features.1 .. features.7). */
const STAGES: StageCfg[] = [
  { expand: 1, k: 3, stride: 1, in: 32, out: 16, layers: 1 },
  { expand: 6, k: 3, stride: 2, in: 16, out: 24, layers: 2 },
  { expand: 6, k: 5, stride: 2, in: 24, out: 40, layers: 2 },
  { expand: 6, k: 3, stride: 2, in: 40, out: 80, layers: 3 },
  { expand: 6, k: 5, stride: 1, in: 80, out: 112, layers: 3 },
  { expand: 6, k: 5, stride: 2, in: 112, out: 192, layers: 4 },
  { expand: 6, k: 3, stride: 1, in: 192, out: 320, layers: 1 },
];

interface Variant extends FamilyVariant {
  width: number;
  depth: number;
  /** BatchNorm eps: b5..b7 (weights ported from lukemelas' TF port) use TF's 1e-3. */
  eps: number;
}

/** The variants table row: torchvision V1 weights, ImageNet top-1, params (M) of the whole model. */
const variant = (b: number, width: number, depth: number, eps: number, weights: string, top1: number, params: number): Variant => ({
  width,
  depth,
  eps,
  weights,
  top1,
  params,
  description: `EfficientNet-B${b} (Tan & Le 2019; width x${width}, depth x${depth})`,
});

/** torchvision 0.14 efficientnet_b0..b7 (multipliers, norm layer and IMAGENET1K_V1 meta). */
const VARIANTS: Record<string, Variant> = {
  efficientnet_b0: variant(0, 1.0, 1.0, 1e-5, 'efficientnet_b0_rwightman-3dd342df.pth', 77.692, 5.29),
  efficientnet_b1: variant(1, 1.0, 1.1, 1e-5, 'efficientnet_b1_rwightman-533bc792.pth', 78.642, 7.79),
  efficientnet_b2: variant(2, 1.1, 1.2, 1e-5, 'efficientnet_b2_rwightman-bcdf34b7.pth', 80.608, 9.11),
  efficientnet_b3: variant(3, 1.2, 1.4, 1e-5, 'efficientnet_b3_rwightman-cf984f9c.pth', 82.008, 12.23),
  efficientnet_b4: variant(4, 1.4, 1.8, 1e-5, 'efficientnet_b4_rwightman-7eb33cd5.pth', 83.384, 19.34),
  efficientnet_b5: variant(5, 1.6, 2.2, 1e-3, 'efficientnet_b5_lukemelas-b6417697.pth', 83.444, 30.39),
  efficientnet_b6: variant(6, 1.8, 2.6, 1e-3, 'efficientnet_b6_lukemelas-c76e70fd.pth', 84.008, 43.04),
  efficientnet_b7: variant(7, 2.0, 3.1, 1e-3, 'efficientnet_b7_lukemelas-dcc49843.pth', 84.122, 66.35),
};

/** torchvision's EfficientNet default for every variant (only active in train mode). */
export const STOCHASTIC_DEPTH_PROB = 0.2;

/** torchvision's _make_divisible(v, 8): nearest multiple of 8, at least 8, never 10% below v. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** The scaled architecture of one variant: channels per stage and blocks per stage. */
export interface EfficientNetShape {
  stem: number;
  stages: { in: number; out: number; blocks: number; k: number; stride: number; expand: number }[];
  head: number;
}

export function efficientnetShape(id: string): EfficientNetShape {
  const v = VARIANTS[id];
  const ch = (c: number) => makeDivisible(c * v.width);
  const stages = STAGES.map((s) => ({
    in: ch(s.in),
    out: ch(s.out),
    // the same double product as Python's math.ceil(n * depth_mult)
    blocks: Math.ceil(s.layers * v.depth),
    k: s.k,
    stride: s.stride,
    expand: s.expand,
  }));
  const last = stages[stages.length - 1].out;
  return { stem: stages[0].in, stages, head: 4 * last };
}

interface BlockCfg {
  in: number;
  out: number;
  k: number;
  stride: number;
  expand: number;
}

/**
 * torchvision's MBConv at `key` (features.S.B): [1x1 expand + BN + SiLU] (absent when the
 * expanded width equals the input), depthwise kxk + BN + SiLU, squeeze-excitation (global mean ->
 * fc1 -> SiLU -> fc2 -> sigmoid -> scale), 1x1 project + BN; identity shortcut when stride 1 and
 * in == out, whose branch carries the block's stochastic-depth probability (the identity in eval
 * mode; dropped per sample when the executor runs in train mode). Sub-modules of `block` are numbered
 * in order, so the depthwise conv is block.0 without expansion and block.1 with it.
 */
function mbconv(g: GraphBuilder, x: Ref, key: string, c: BlockCfg, eps: number, dropPath: number): Ref {
  const input = x;
  const expanded = makeDivisible(c.in * c.expand);
  let j = 0;
  if (expanded !== c.in) {
    x = g.conv(x, `${key}.block.${j}.0`, { out: expanded, k: 1, bias: false });
    x = g.act(g.batchNorm(x, `${key}.block.${j}.1`, eps), 'silu');
    j++;
  }
  x = g.conv(x, `${key}.block.${j}.0`, { out: expanded, k: c.k, stride: c.stride, pad: (c.k - 1) >> 1, groups: expanded, bias: false });
  x = g.act(g.batchNorm(x, `${key}.block.${j}.1`, eps), 'silu');
  j++;
  // squeeze width comes from the block's input width, not the expanded one
  const squeeze = Math.max(1, Math.floor(c.in / 4));
  let s = g.adaptiveAvgPool(x, 1);
  s = g.act(g.conv(s, `${key}.block.${j}.fc1`, { out: squeeze, k: 1 }), 'silu');
  s = g.act(g.conv(s, `${key}.block.${j}.fc2`, { out: expanded, k: 1 }), 'sigmoid');
  x = g.mul(x, s);
  j++;
  x = g.conv(x, `${key}.block.${j}.0`, { out: c.out, k: 1, bias: false });
  x = g.batchNorm(x, `${key}.block.${j}.1`, eps);
  return c.stride === 1 && c.in === c.out ? g.add2(x, input, dropPath) : x;
}

/**
 * Builds `model.features` as torchvision does: stem (features.0), seven MBConv stages
 * (features.1..7) and the 1x1 head conv (features.8). Taps: `stem`, `stage1`..`stage7`, `head`
 * (the study's module indices 0..8) and every block boundary `stageS.B`; the last block of a
 * stage is the stage's output, so its name is an alias of `stageS`.
 */
function efficientnetGraph(g: GraphBuilder, { eps }: Variant, id: string): void {
  const shape = efficientnetShape(id);

  let x = g.input(3);
  x = g.conv(x, 'features.0.0', { out: shape.stem, k: 3, stride: 2, pad: 1, bias: false });
  x = g.act(g.batchNorm(x, 'features.0.1', eps), 'silu');
  g.tap('stem', x, { studyIndex: 0, description: `features.0: stem conv 3x3 stride 2 + BN + SiLU, ${shape.stem} channels` });

  // torchvision: block j of all n blocks gets stochastic_depth_prob 0.2 * j / n
  const totalBlocks = shape.stages.reduce((n, st) => n + st.blocks, 0);
  let blockId = 0;
  shape.stages.forEach((st, i) => {
    const s = i + 1;
    for (let b = 0; b < st.blocks; b++) {
      const dropPath = (STOCHASTIC_DEPTH_PROB * blockId++) / totalBlocks;
      x = mbconv(
        g,
        x,
        `features.${s}.${b}`,
        { in: b ? st.out : st.in, out: st.out, k: st.k, stride: b ? 1 : st.stride, expand: st.expand },
        eps,
        dropPath,
      );
      if (b < st.blocks - 1)
        g.tap(`stage${s}.${b}`, x, { description: `features.${s}.${b}: MBConv${st.expand} ${st.k}x${st.k}, ${st.out} channels` });
    }
    g.tap(`stage${s}`, x, {
      studyIndex: s,
      aliases: [`stage${s}.${st.blocks - 1}`],
      description: `features.${s}: stage ${s} (${st.blocks} x MBConv${st.expand} ${st.k}x${st.k}), ${st.out} channels`,
    });
  });

  x = g.conv(x, 'features.8.0', { out: shape.head, k: 1, bias: false });
  x = g.act(g.batchNorm(x, 'features.8.1', eps), 'silu');
  g.tap('head', x, { studyIndex: 8, description: `features.8: head conv 1x1 + BN + SiLU, ${shape.head} channels` });
}

/** The study's four points (docs/PROTOCOL.md section 2): stem, stage 1, stage 4, stage 7 (before the head). */
const PAPER_POINTS = ['stem', 'stage1', 'stage4', 'stage7'];

export const efficientnetFamily = defineFamily({
  family: 'efficientnet',
  variants: VARIANTS,
  build: efficientnetGraph,
  studyPoints: { efficientnet_b0: PAPER_POINTS, efficientnet_b7: PAPER_POINTS },
  batchNorm: true,
  ignorePrefixes: ['classifier.'],
});

export const EFFICIENTNET_IDS = efficientnetFamily.ids;
export const efficientnetBackbones = (): GraphBackbone[] => efficientnetFamily.backbones();
