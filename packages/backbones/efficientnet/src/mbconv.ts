import type { GraphBuilder, Ref } from '@dpl/core';

/** torchvision's _make_divisible(v, 8): nearest multiple of 8, at least 8, never 10% below v. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** One block's configuration (torchvision's MBConvConfig / FusedMBConvConfig after scaling). */
export interface BlockCfg {
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
export function mbconv(g: GraphBuilder, x: Ref, key: string, c: BlockCfg, eps: number, dropPath: number): Ref {
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
 * torchvision's FusedMBConv (EfficientNetV2's early stages) at `key`: the expansion and the
 * depthwise conv fused into one kxk conv (stride s) + BN + SiLU, then 1x1 project + BN; with
 * expansion 1 the kxk conv (+ BN + SiLU) maps straight to the output width. No squeeze-excitation;
 * the same shortcut and stochastic depth as MBConv.
 */
export function fusedMbconv(g: GraphBuilder, x: Ref, key: string, c: BlockCfg, eps: number, dropPath: number): Ref {
  const input = x;
  const expanded = makeDivisible(c.in * c.expand);
  const project = expanded !== c.in;
  x = g.conv(x, `${key}.block.0.0`, { out: project ? expanded : c.out, k: c.k, stride: c.stride, pad: (c.k - 1) >> 1, bias: false });
  x = g.act(g.batchNorm(x, `${key}.block.0.1`, eps), 'silu');
  if (project) x = g.batchNorm(g.conv(x, `${key}.block.1.0`, { out: c.out, k: 1, bias: false }), `${key}.block.1.1`, eps);
  return c.stride === 1 && c.in === c.out ? g.add2(x, input, dropPath) : x;
}
