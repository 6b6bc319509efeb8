import type { GraphBuilder, Ref } from '@dpl/core';

export interface BasicConvOptions {
  out: number;
  k: number | [number, number];
  stride?: number;
  pad?: number | [number, number];
}

/**
 * torchvision's BasicConv2d (GoogLeNet and Inception v3 alike): conv without bias, BatchNorm
 * with eps 0.001 (not PyTorch's default 1e-5), ReLU. Keys: `<key>.conv`, `<key>.bn`.
 */
export function basicConv(g: GraphBuilder, x: Ref, key: string, o: BasicConvOptions): Ref {
  const c = g.conv(x, `${key}.conv`, { out: o.out, k: o.k, stride: o.stride, pad: o.pad, bias: false });
  return g.relu(g.batchNorm(c, `${key}.bn`, 0.001));
}
