import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder } from '@dpl/core';
import { fusedMbconv, makeDivisible, mbconv } from './mbconv';

/** One stage of EfficientNet-B0 (Tan & Le 2019, table 1) before width/depth scaling, or of EfficientNetV2 (Tan & Le 2021, table 4). */
interface StageCfg {
  expand: number;
  k: number;
  stride: number;
  in: number;
  out: number;
  layers: number;
  /** FusedMBConv (V2's early stages) instead of MBConv. */
  fused?: boolean;
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
  /** BatchNorm eps: b5..b7 (weights ported from lukemelas' TF port) and V2 use TF's 1e-3. */
  eps: number;
  /** V2: its own stage table and a 1280-channel head conv; V1 scales STAGES and has 4x the last width. */
  v2?: { stages: StageCfg[]; head: number };
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

/** One EfficientNetV2 stage table row: expand ratio, kernel, stride, in, out, layers, fused. */
const v2Stage = (expand: number, k: number, stride: number, inC: number, out: number, layers: number, fused = false): StageCfg => ({
  expand,
  k,
  stride,
  in: inC,
  out,
  layers,
  fused,
});

/** torchvision 0.14 _efficientnet_conf('efficientnet_v2_s' / '_m' / '_l'): features.1 .. features.6 or .7. */
const V2_S = [
  v2Stage(1, 3, 1, 24, 24, 2, true),
  v2Stage(4, 3, 2, 24, 48, 4, true),
  v2Stage(4, 3, 2, 48, 64, 4, true),
  v2Stage(4, 3, 2, 64, 128, 6),
  v2Stage(6, 3, 1, 128, 160, 9),
  v2Stage(6, 3, 2, 160, 256, 15),
];
const V2_M = [
  v2Stage(1, 3, 1, 24, 24, 3, true),
  v2Stage(4, 3, 2, 24, 48, 5, true),
  v2Stage(4, 3, 2, 48, 80, 5, true),
  v2Stage(4, 3, 2, 80, 160, 7),
  v2Stage(6, 3, 1, 160, 176, 14),
  v2Stage(6, 3, 2, 176, 304, 18),
  v2Stage(6, 3, 1, 304, 512, 5),
];
const V2_L = [
  v2Stage(1, 3, 1, 32, 32, 4, true),
  v2Stage(4, 3, 2, 32, 64, 7, true),
  v2Stage(4, 3, 2, 64, 96, 7, true),
  v2Stage(4, 3, 2, 96, 192, 10),
  v2Stage(6, 3, 1, 192, 224, 19),
  v2Stage(6, 3, 2, 224, 384, 25),
  v2Stage(6, 3, 1, 384, 640, 7),
];

/** A V2 row: torchvision's IMAGENET1K_V1 (its only and DEFAULT) weights, ImageNet top-1, params of the whole model; BN eps 1e-3. */
const variantV2 = (size: string, stages: StageCfg[], weights: string, top1: number, numParams: number, trained: string): Variant => ({
  width: 1,
  depth: 1,
  eps: 1e-3,
  v2: { stages, head: 1280 },
  weights,
  top1,
  params: numParams / 1e6,
  description: `EfficientNetV2-${size} (Tan & Le 2021; weights trained at ${trained})`,
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
  efficientnet_v2_s: variantV2('S', V2_S, 'efficientnet_v2_s-dd5fe13b.pth', 84.228, 21458488, '384x384'),
  efficientnet_v2_m: variantV2('M', V2_M, 'efficientnet_v2_m-dc08266a.pth', 85.112, 54139356, '480x480'),
  // torchvision's V2-L weights (ported from TF) expect inputs normalised with mean = std = 0.5
  efficientnet_v2_l: variantV2(
    'L',
    V2_L,
    'efficientnet_v2_l-59c71312.pth',
    85.808,
    118515272,
    '480x480, inputs normalised with mean = std = 0.5',
  ),
};

/** torchvision's EfficientNet default for every variant, V2 included (only active in train mode). */
export const STOCHASTIC_DEPTH_PROB = 0.2;

export { makeDivisible };

/** The scaled architecture of one variant: channels per stage and blocks per stage. */
export interface EfficientNetShape {
  stem: number;
  stages: { in: number; out: number; blocks: number; k: number; stride: number; expand: number; fused: boolean }[];
  head: number;
}

export function efficientnetShape(id: string): EfficientNetShape {
  const v = VARIANTS[id];
  const ch = (c: number) => makeDivisible(c * v.width);
  const stages = (v.v2?.stages ?? STAGES).map((s) => ({
    in: ch(s.in),
    out: ch(s.out),
    // the same double product as Python's math.ceil(n * depth_mult)
    blocks: Math.ceil(s.layers * v.depth),
    k: s.k,
    stride: s.stride,
    expand: s.expand,
    fused: s.fused ?? false,
  }));
  const last = stages[stages.length - 1].out;
  return { stem: stages[0].in, stages, head: v.v2?.head ?? 4 * last };
}

/**
 * Builds `model.features` as torchvision does: stem (features.0), the MBConv stages (V1:
 * features.1..7; V2: FusedMBConv then MBConv stages, features.1..6 or 1..7) and the 1x1 head conv
 * (features.8, or features.7 for V2-S). Taps: `stem`, `stage1`..`stageN`, `head` and every block
 * boundary `stageS.B`; the last block of a stage is the stage's output, so its name is an alias of
 * `stageS`. Every tap names the torchvision module it equals; V1's also carry the study's module
 * index (children of model.features).
 */
function efficientnetGraph(g: GraphBuilder, { eps, v2 }: Variant, id: string): void {
  const shape = efficientnetShape(id);
  const study = (i: number) => (v2 ? {} : { studyIndex: i });

  let x = g.input(3);
  x = g.conv(x, 'features.0.0', { out: shape.stem, k: 3, stride: 2, pad: 1, bias: false });
  x = g.act(g.batchNorm(x, 'features.0.1', eps), 'silu');
  g.tap('stem', x, {
    ...study(0),
    torchModule: 'features.0',
    description: `features.0: stem conv 3x3 stride 2 + BN + SiLU, ${shape.stem} channels`,
  });

  // torchvision: block j of all n blocks gets stochastic_depth_prob 0.2 * j / n
  const totalBlocks = shape.stages.reduce((n, st) => n + st.blocks, 0);
  let blockId = 0;
  shape.stages.forEach((st, i) => {
    const s = i + 1;
    const kind = `${st.fused ? 'FusedMBConv' : 'MBConv'}${st.expand} ${st.k}x${st.k}`;
    for (let b = 0; b < st.blocks; b++) {
      const dropPath = (STOCHASTIC_DEPTH_PROB * blockId++) / totalBlocks;
      const cfg = { in: b ? st.out : st.in, out: st.out, k: st.k, stride: b ? 1 : st.stride, expand: st.expand };
      x = (st.fused ? fusedMbconv : mbconv)(g, x, `features.${s}.${b}`, cfg, eps, dropPath);
      if (b < st.blocks - 1)
        g.tap(`stage${s}.${b}`, x, { torchModule: `features.${s}.${b}`, description: `features.${s}.${b}: ${kind}, ${st.out} channels` });
    }
    g.tap(`stage${s}`, x, {
      ...study(s),
      torchModule: `features.${s}`,
      aliases: [`stage${s}.${st.blocks - 1}`],
      description: `features.${s}: stage ${s} (${st.blocks} x ${kind}), ${st.out} channels`,
    });
  });

  const h = shape.stages.length + 1;
  x = g.conv(x, `features.${h}.0`, { out: shape.head, k: 1, bias: false });
  x = g.act(g.batchNorm(x, `features.${h}.1`, eps), 'silu');
  g.tap('head', x, {
    ...study(h),
    torchModule: `features.${h}`,
    description: `features.${h}: head conv 1x1 + BN + SiLU, ${shape.head} channels`,
  });
}

/**
 * V2's default points (outside the study; README.md): E1 the stem, E2 the end of stage 1, E3 the
 * block boundary whose blocks-done fraction is nearest 1/2 (ties to the earlier), E4 the last stage
 * (before the head conv).
 */
function defaultPoints(id: string): string[] {
  const stages = efficientnetShape(id).stages;
  let left = Math.floor(stages.reduce((n, s) => n + s.blocks, 0) / 2);
  let i = 0;
  while (left > stages[i].blocks) left -= stages[i++].blocks;
  const mid = left === stages[i].blocks ? `stage${i + 1}` : `stage${i + 1}.${left - 1}`;
  return ['stem', 'stage1', mid, `stage${stages.length}`];
}

/** The study's four points (docs/PROTOCOL.md section 2): stem, stage 1, stage 4, stage 7 (before the head). */
const PAPER_POINTS = ['stem', 'stage1', 'stage4', 'stage7'];

export const efficientnetFamily = defineFamily({
  family: 'efficientnet',
  variants: VARIANTS,
  build: efficientnetGraph,
  studyPoints: { efficientnet_b0: PAPER_POINTS, efficientnet_b7: PAPER_POINTS },
  defaultPoints: Object.fromEntries(['efficientnet_v2_s', 'efficientnet_v2_m', 'efficientnet_v2_l'].map((id) => [id, defaultPoints(id)])),
  batchNorm: true,
  ignorePrefixes: ['classifier.'],
});

export const EFFICIENTNET_IDS = efficientnetFamily.ids;
export const efficientnetBackbones = (): GraphBackbone[] => efficientnetFamily.backbones();
