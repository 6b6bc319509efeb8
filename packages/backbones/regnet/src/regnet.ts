import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/** RegNet's design-space parameters (Radosavovic et al. 2020), as torchvision's BlockParams.from_init_params takes them. */
interface InitParams {
  depth: number;
  w0: number;
  wa: number;
  wm: number;
  groupWidth: number;
  /** Squeeze-excitation ratio: RegNetY 0.25, RegNetX none. */
  se?: number;
}

interface Variant extends FamilyVariant, InitParams {}

/** One row: torchvision 0.14's init parameters and its DEFAULT weights (file with SHA-256 prefix, ImageNet top-1, params of the whole model). */
const variant = (
  name: string,
  p: InitParams,
  weights: string,
  top1: number,
  numParams: number,
  note = 'IMAGENET1K_V2 weights',
): Variant => ({
  ...p,
  weights,
  top1,
  params: numParams / 1e6,
  description: `${name} (Radosavovic et al. 2020; ${note})`,
});

const y = (depth: number, w0: number, wa: number, wm: number, groupWidth: number): InitParams => ({
  depth,
  w0,
  wa,
  wm,
  groupWidth,
  se: 0.25,
});
const x = (depth: number, w0: number, wa: number, wm: number, groupWidth: number): InitParams => ({ depth, w0, wa, wm, groupWidth });

/** torchvision 0.14 regnet_y_* and regnet_x_* (regnet.py: from_init_params arguments, Weights enums' DEFAULT). */
const VARIANTS: Record<string, Variant> = {
  regnet_y_400mf: variant('RegNetY-400MF', y(16, 48, 27.89, 2.09, 8), 'regnet_y_400mf-e6988f5f.pth', 75.804, 4344144),
  regnet_y_800mf: variant('RegNetY-800MF', y(14, 56, 38.84, 2.4, 16), 'regnet_y_800mf-58fc7688.pth', 78.828, 6432512),
  regnet_y_1_6gf: variant('RegNetY-1.6GF', y(27, 48, 20.71, 2.65, 24), 'regnet_y_1_6gf-0d7bc02a.pth', 80.876, 11202430),
  regnet_y_3_2gf: variant('RegNetY-3.2GF', y(21, 80, 42.63, 2.66, 24), 'regnet_y_3_2gf-9180c971.pth', 81.982, 19436338),
  regnet_y_8gf: variant('RegNetY-8GF', y(17, 192, 76.82, 2.19, 56), 'regnet_y_8gf-dc2b1b54.pth', 82.828, 39381472),
  regnet_y_16gf: variant('RegNetY-16GF', y(18, 200, 106.23, 2.48, 112), 'regnet_y_16gf-3e4a00f9.pth', 82.886, 83590140),
  regnet_y_32gf: variant('RegNetY-32GF', y(20, 232, 115.89, 2.53, 232), 'regnet_y_32gf-8db6d4b5.pth', 83.368, 145046770),
  // the only published weights: SWAG pre-training fine-tuned end to end at 384x384 (bicubic resize)
  regnet_y_128gf: variant(
    'RegNetY-128GF',
    y(27, 456, 160.83, 2.52, 264),
    'regnet_y_128gf_swag-c8ce3e52.pth',
    88.228,
    644812894,
    'IMAGENET1K_SWAG_E2E_V1 weights, 384x384',
  ),
  regnet_x_400mf: variant('RegNetX-400MF', x(22, 24, 24.48, 2.54, 16), 'regnet_x_400mf-62229a5f.pth', 74.864, 5495976),
  regnet_x_800mf: variant('RegNetX-800MF', x(16, 56, 35.73, 2.28, 16), 'regnet_x_800mf-94a99ebd.pth', 77.522, 7259656),
  regnet_x_1_6gf: variant('RegNetX-1.6GF', x(18, 80, 34.01, 2.25, 24), 'regnet_x_1_6gf-a12f2b72.pth', 79.668, 9190136),
  regnet_x_3_2gf: variant('RegNetX-3.2GF', x(25, 88, 26.31, 2.25, 48), 'regnet_x_3_2gf-7071aa85.pth', 81.196, 15296552),
  regnet_x_8gf: variant('RegNetX-8GF', x(23, 80, 49.56, 2.88, 120), 'regnet_x_8gf-2b70d774.pth', 81.682, 39572648),
  regnet_x_16gf: variant('RegNetX-16GF', x(22, 216, 55.59, 2.1, 128), 'regnet_x_16gf-ba3796d7.pth', 82.716, 54278536),
  regnet_x_32gf: variant('RegNetX-32GF', x(23, 320, 69.86, 2.0, 168), 'regnet_x_32gf-6eb8fdc6.pth', 83.014, 107811560),
};

/** The stem's width (RegNet's stem_width default). */
const STEM = 32;

/** torchvision's _make_divisible(v, divisor): nearest multiple, at least the divisor, never 10% below v. */
function makeDivisible(v: number, divisor: number): number {
  let n = Math.max(divisor, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** One stage: blocks, output width, group width of its 3x3 convs. */
export interface RegNetStage {
  depth: number;
  width: number;
  groupWidth: number;
}

/**
 * torchvision's BlockParams.from_init_params: the per-block widths w0 + wa * j quantised in log
 * space (base wm) to multiples of 8, runs of equal width as stages, then stage and group widths made
 * compatible (bottleneck multiplier 1). torch computes the widths in float32 (arange * float), so
 * every step here rounds to float32 as torch does.
 */
export function regnetStages(id: string): RegNetStage[] {
  const { depth, w0, wa, wm, groupWidth } = VARIANTS[id];
  const f = Math.fround;
  const logWm = f(Math.log(wm));
  const widths = Array.from({ length: depth }, (_, j) => {
    const cont = f(f(j * f(wa)) + w0);
    const capacity = roundHalfEven(f(f(Math.log(f(cont / w0))) / logWm));
    return roundHalfEven(f(f(w0 * f(Math.pow(wm, capacity))) / 8)) * 8;
  });
  const stages: RegNetStage[] = [];
  for (const w of widths) {
    const last = stages[stages.length - 1];
    if (last && last.width === w) last.depth++;
    else stages.push({ depth: 1, width: w, groupWidth });
  }
  // _adjust_widths_groups_compatibilty with bottleneck multiplier 1
  return stages.map((s) => {
    const g = Math.min(s.groupWidth, s.width);
    return { depth: s.depth, width: makeDivisible(s.width, g), groupWidth: g };
  });
}

/** torch.round: halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision's ResBottleneckBlock at `key` (trunk_output.blockS.blockS-i): the shortcut is a 1x1
 * stride-s conv + BN where the width or resolution changes (`proj`), else the identity; the branch
 * `f` is a: 1x1 + BN + ReLU, b: 3x3 stride-s grouped conv (width / group width groups) + BN + ReLU,
 * [se: global mean -> fc1 (round(0.25 * block input width)) -> ReLU -> fc2 -> sigmoid -> scale],
 * c: 1x1 + BN; the sum goes through ReLU.
 */
function block(g: GraphBuilder, x: Ref, key: string, width: number, stride: number, groupWidth: number, se?: number): Ref {
  const convBn = (r: Ref, name: string, out: number, k: number, s = 1, groups = 1) =>
    g.batchNorm(g.conv(r, `${key}.${name}.0`, { out, k, stride: s, pad: (k - 1) >> 1, groups, bias: false }), `${key}.${name}.1`);
  const shortcut = x.channels !== width || stride !== 1 ? convBn(x, 'proj', width, 1, stride) : x;
  let f = g.relu(convBn(x, 'f.a', width, 1));
  f = g.relu(convBn(f, 'f.b', width, 3, stride, width / groupWidth));
  if (se) {
    let s = g.adaptiveAvgPool(f, 1);
    s = g.relu(g.conv(s, `${key}.f.se.fc1`, { out: Math.round(se * x.channels), k: 1 }));
    s = g.act(g.conv(s, `${key}.f.se.fc2`, { out: width, k: 1 }), 'sigmoid');
    f = g.mul(f, s);
  }
  f = convBn(f, 'f.c', width, 1);
  return g.relu(g.add2(shortcut, f));
}

/**
 * Builds the stem and `trunk_output` as torchvision does. Taps: `stem` (3x3 stride 2 + BN + ReLU),
 * `stageS` (trunk_output.blockS) and every block `stageS.i` (trunk_output.blockS.blockS-i); the
 * last block of a stage is the stage, so its name is an alias of `stageS`.
 */
function regnetGraph(g: GraphBuilder, v: Variant, id: string): void {
  let x = g.input(3);
  x = g.relu(g.batchNorm(g.conv(x, 'stem.0', { out: STEM, k: 3, stride: 2, pad: 1, bias: false }), 'stem.1'));
  g.tap('stem', x, { torchModule: 'stem', description: `stem: conv 3x3 stride 2 + BN + ReLU, ${STEM} channels` });
  const kind = v.se ? 'Y' : 'X';
  regnetStages(id).forEach((st, i) => {
    const s = i + 1;
    const groups = st.width / st.groupWidth;
    for (let b = 0; b < st.depth; b++) {
      const module = `trunk_output.block${s}.block${s}-${b}`;
      x = block(g, x, module, st.width, b ? 1 : 2, st.groupWidth, v.se);
      if (b < st.depth - 1)
        g.tap(`stage${s}.${b}`, x, {
          torchModule: module,
          description: `${module}: ${kind} block, ${st.width} channels, ${groups} groups`,
        });
    }
    g.tap(`stage${s}`, x, {
      torchModule: `trunk_output.block${s}`,
      aliases: [`stage${s}.${st.depth - 1}`],
      description: `trunk_output.block${s}: stage ${s} (${st.depth} x ${kind} block), ${st.width} channels, ${groups} groups of ${st.groupWidth}`,
    });
  });
}

/**
 * The default points (README.md): E1 the stem, E2 the end of stage 1, E3 the block boundary whose
 * blocks-done fraction is nearest 1/2 (ties to the earlier), E4 the end of stage 4 (before pooling).
 */
function defaultPoints(id: string): string[] {
  const stages = regnetStages(id);
  let left = Math.floor(stages.reduce((n, s) => n + s.depth, 0) / 2);
  let mid = 'stem';
  for (const [i, s] of stages.entries()) {
    if (left <= s.depth) {
      mid = left === s.depth ? `stage${i + 1}` : `stage${i + 1}.${left - 1}`;
      break;
    }
    left -= s.depth;
  }
  return ['stem', 'stage1', mid, `stage${stages.length}`];
}

export const regnetFamily = defineFamily({
  family: 'regnet',
  variants: VARIANTS,
  build: regnetGraph,
  defaultPoints: Object.fromEntries(Object.keys(VARIANTS).map((id) => [id, defaultPoints(id)])),
  batchNorm: true,
  ignorePrefixes: ['fc.'],
});

export const REGNET_IDS = regnetFamily.ids;
export const regnetBackbones = (): GraphBackbone[] => regnetFamily.backbones();
