import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/** One inverted-residual block (Howard et al. 2019, tables 1 and 2), as torchvision's InvertedResidualConfig at width 1.0. */
export interface MobileNetBlock {
  in: number;
  k: number;
  expanded: number;
  out: number;
  se: boolean;
  /** hardswish ('HS') or ReLU ('RE') */
  hs: boolean;
  stride: number;
}

/** One bneck_conf row: input, kernel, expanded, output, SE, activation, stride. */
type Row = [number, number, number, number, boolean, 'RE' | 'HS', number];
const rows = (table: Row[]): MobileNetBlock[] =>
  table.map(([inC, k, expanded, out, se, act, stride]) => ({ in: inC, k, expanded, out, se, hs: act === 'HS', stride }));

/** torchvision 0.14 _mobilenet_v3_conf (width_mult 1, no reduced tail, no dilation): features.1 .. features.N. */
const BLOCKS: Record<string, MobileNetBlock[]> = {
  mobilenet_v3_large: rows([
    [16, 3, 16, 16, false, 'RE', 1],
    [16, 3, 64, 24, false, 'RE', 2],
    [24, 3, 72, 24, false, 'RE', 1],
    [24, 5, 72, 40, true, 'RE', 2],
    [40, 5, 120, 40, true, 'RE', 1],
    [40, 5, 120, 40, true, 'RE', 1],
    [40, 3, 240, 80, false, 'HS', 2],
    [80, 3, 200, 80, false, 'HS', 1],
    [80, 3, 184, 80, false, 'HS', 1],
    [80, 3, 184, 80, false, 'HS', 1],
    [80, 3, 480, 112, true, 'HS', 1],
    [112, 3, 672, 112, true, 'HS', 1],
    [112, 5, 672, 160, true, 'HS', 2],
    [160, 5, 960, 160, true, 'HS', 1],
    [160, 5, 960, 160, true, 'HS', 1],
  ]),
  mobilenet_v3_small: rows([
    [16, 3, 16, 16, true, 'RE', 2],
    [16, 3, 72, 24, false, 'RE', 2],
    [24, 3, 88, 24, false, 'RE', 1],
    [24, 5, 96, 40, true, 'HS', 2],
    [40, 5, 240, 40, true, 'HS', 1],
    [40, 5, 240, 40, true, 'HS', 1],
    [40, 5, 120, 48, true, 'HS', 1],
    [48, 5, 144, 48, true, 'HS', 1],
    [48, 5, 288, 96, true, 'HS', 2],
    [96, 5, 576, 96, true, 'HS', 1],
    [96, 5, 576, 96, true, 'HS', 1],
  ]),
};

type Variant = FamilyVariant;

/** torchvision 0.14's DEFAULT weights of each network: file (SHA-256 prefix in the name), ImageNet top-1, params (M). */
const VARIANTS: Record<string, Variant> = {
  mobilenet_v3_large: {
    weights: 'mobilenet_v3_large-5c1a4163.pth',
    top1: 75.274,
    params: 5.483032,
    description: 'MobileNetV3-Large (Howard et al. 2019; IMAGENET1K_V2 weights)',
  },
  mobilenet_v3_small: {
    weights: 'mobilenet_v3_small-047dcff4.pth',
    top1: 67.668,
    params: 2.542856,
    description: 'MobileNetV3-Small (Howard et al. 2019; IMAGENET1K_V1 weights)',
  },
};

/** torchvision's BatchNorm2d(eps=0.001, momentum=0.01) throughout. */
const EPS = 1e-3;

/** torchvision's _make_divisible(v, 8): nearest multiple of 8, at least 8, never 10% below v. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** The blocks of one network (features.1 .. features.N). */
export function mobilenetBlocks(id: string): MobileNetBlock[] {
  return BLOCKS[id];
}

/**
 * Stages: runs of blocks at one resolution (a stride-2 block starts a stage; torchvision's C1..C4
 * comments mark those), numbered from 1. Returns the 1-based block index ending each stage.
 */
export function mobilenetStageEnds(id: string): number[] {
  const blocks = BLOCKS[id];
  const ends: number[] = [];
  blocks.forEach((b, i) => {
    if (i > 0 && b.stride === 2) ends.push(i);
  });
  return [...ends, blocks.length];
}

/**
 * torchvision's InvertedResidual at features.i: [1x1 expand + BN + act] (absent when the expanded
 * width equals the input), depthwise kxk + BN + act, [squeeze-excitation: global mean -> fc1 ->
 * ReLU -> fc2 -> hardsigmoid -> scale, squeeze width _make_divisible(expanded // 4, 8)], 1x1
 * project + BN; identity shortcut when stride 1 and in == out. Sub-modules of `block` are numbered
 * in order.
 */
function invertedResidual(g: GraphBuilder, x: Ref, key: string, c: MobileNetBlock): Ref {
  const input = x;
  const act = (r: Ref) => (c.hs ? g.act(r, 'hardswish') : g.relu(r));
  let j = 0;
  const convBn = (r: Ref, out: number, k: number, stride = 1, groups = 1) => {
    const y = g.conv(r, `${key}.block.${j}.0`, { out, k, stride, pad: (k - 1) >> 1, groups, bias: false });
    return g.batchNorm(y, `${key}.block.${j++}.1`, EPS);
  };
  if (c.expanded !== c.in) x = act(convBn(x, c.expanded, 1));
  x = act(convBn(x, c.expanded, c.k, c.stride, c.expanded));
  if (c.se) {
    const squeeze = makeDivisible(Math.floor(c.expanded / 4));
    let s = g.adaptiveAvgPool(x, 1);
    s = g.relu(g.conv(s, `${key}.block.${j}.fc1`, { out: squeeze, k: 1 }));
    s = g.act(g.conv(s, `${key}.block.${j++}.fc2`, { out: c.expanded, k: 1 }), 'hardsigmoid');
    x = g.mul(x, s);
  }
  x = convBn(x, c.out, 1);
  return c.stride === 1 && c.in === c.out ? g.add2(x, input) : x;
}

/**
 * Builds `model.features` as torchvision does: the stem (features.0: 3x3 stride 2 + BN +
 * hardswish), the inverted-residual blocks (features.1..N) and the 1x1 head conv (features.N+1,
 * 6x the last width, + BN + hardswish). Taps: `stem`, `block1`..`blockN`, `head`; the block that
 * ends a stage also answers to `stageS`.
 */
function mobilenetGraph(g: GraphBuilder, _v: Variant, id: string): void {
  const blocks = BLOCKS[id];
  const ends = mobilenetStageEnds(id);
  let x = g.input(3);
  const stem = blocks[0].in;
  x = g.conv(x, 'features.0.0', { out: stem, k: 3, stride: 2, pad: 1, bias: false });
  x = g.act(g.batchNorm(x, 'features.0.1', EPS), 'hardswish');
  g.tap('stem', x, { torchModule: 'features.0', description: `features.0: stem conv 3x3 stride 2 + BN + hardswish, ${stem} channels` });
  blocks.forEach((c, i) => {
    const n = i + 1;
    x = invertedResidual(g, x, `features.${n}`, c);
    const stage = ends.indexOf(n);
    const se = c.se ? ' + SE' : '';
    g.tap(`block${n}`, x, {
      torchModule: `features.${n}`,
      ...(stage >= 0 ? { aliases: [`stage${stage + 1}`] } : {}),
      description: `features.${n}: inverted residual ${c.k}x${c.k}, expand ${c.expanded}${se}, ${c.hs ? 'hardswish' : 'ReLU'}, ${c.out} channels${stage >= 0 ? ` (ends stage ${stage + 1})` : ''}`,
    });
  });
  const last = blocks[blocks.length - 1].out;
  const h = blocks.length + 1;
  x = g.conv(x, `features.${h}.0`, { out: 6 * last, k: 1, bias: false });
  x = g.act(g.batchNorm(x, `features.${h}.1`, EPS), 'hardswish');
  g.tap('head', x, { torchModule: `features.${h}`, description: `features.${h}: head conv 1x1 + BN + hardswish, ${6 * last} channels` });
}

/**
 * The default points (docs in README.md): E1 the stem, E2 the end of the first stage, E3 the block
 * whose blocks-done fraction is nearest 1/2 (ties to the earlier), E4 the last block (before the head conv).
 */
function defaultPoints(id: string): string[] {
  const n = BLOCKS[id].length;
  const mid = Math.floor(n / 2); // |2k - n| is smallest at floor(n/2), the earlier of a tie
  return ['stem', `block${mobilenetStageEnds(id)[0]}`, `block${mid}`, `block${n}`];
}

export const mobilenetFamily = defineFamily({
  family: 'mobilenet',
  variants: VARIANTS,
  build: mobilenetGraph,
  defaultPoints: Object.fromEntries(Object.keys(VARIANTS).map((id) => [id, defaultPoints(id)])),
  batchNorm: true,
  ignorePrefixes: ['classifier.'],
});

export const MOBILENET_IDS = mobilenetFamily.ids;
export const mobilenetBackbones = (): GraphBackbone[] => mobilenetFamily.backbones();
