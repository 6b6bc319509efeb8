import type { GraphBuilder, Ref } from '@dpl/core';
import { basicConv } from './basic-conv';

/** Branch average pools: 3x3, stride 1, pad 1, zeros counted (PyTorch's default count_include_pad). */
const avg3 = (g: GraphBuilder, x: Ref) => g.avgPool(x, { k: 3, stride: 1, pad: 1, countIncludePad: true });

/** 35x35 block: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1 (pool_features). */
function inceptionA(g: GraphBuilder, x: Ref, key: string, poolFeatures: number): Ref {
  const b = (name: string, from: Ref, out: number, k: number, pad = 0) => basicConv(g, from, `${key}.${name}`, { out, k, pad });
  const b1 = b('branch1x1', x, 64, 1);
  const b5 = b('branch5x5_2', b('branch5x5_1', x, 48, 1), 64, 5, 2);
  const d = b('branch3x3dbl_3', b('branch3x3dbl_2', b('branch3x3dbl_1', x, 64, 1), 96, 3, 1), 96, 3, 1);
  const p = b('branch_pool', avg3(g, x), poolFeatures, 1);
  return g.concat([b1, b5, d, p]);
}

/** Grid reduction 35 -> 17: 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | max pool 3x3/2. */
function inceptionB(g: GraphBuilder, x: Ref, key: string): Ref {
  const b3 = basicConv(g, x, `${key}.branch3x3`, { out: 384, k: 3, stride: 2 });
  let d = basicConv(g, x, `${key}.branch3x3dbl_1`, { out: 64, k: 1 });
  d = basicConv(g, d, `${key}.branch3x3dbl_2`, { out: 96, k: 3, pad: 1 });
  d = basicConv(g, d, `${key}.branch3x3dbl_3`, { out: 96, k: 3, stride: 2 });
  return g.concat([b3, d, g.maxPool(x, { k: 3, stride: 2 })]);
}

// Factorised 7x7: (1,7) convs pad (0,3) and (7,1) convs pad (3,0) keep the grid size.
const K17: [[number, number], [number, number]] = [
  [1, 7],
  [0, 3],
];
const K71: [[number, number], [number, number]] = [
  [7, 1],
  [3, 0],
];

/** 17x17 block with factorised 7x7 convolutions; c7 = channels_7x7. */
function inceptionC(g: GraphBuilder, x: Ref, key: string, c7: number): Ref {
  const b = (name: string, from: Ref, out: number, [k, pad]: [[number, number], [number, number]] | [number, number] = [1, 0]) =>
    basicConv(g, from, `${key}.${name}`, { out, k, pad });
  const b1 = b('branch1x1', x, 192);
  const b7 = b('branch7x7_3', b('branch7x7_2', b('branch7x7_1', x, c7), c7, K17), 192, K71);
  let d = b('branch7x7dbl_1', x, c7);
  d = b('branch7x7dbl_2', d, c7, K71);
  d = b('branch7x7dbl_3', d, c7, K17);
  d = b('branch7x7dbl_4', d, c7, K71);
  d = b('branch7x7dbl_5', d, 192, K17);
  const p = b('branch_pool', avg3(g, x), 192);
  return g.concat([b1, b7, d, p]);
}

/** Grid reduction 17 -> 8: 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | max pool 3x3/2. */
function inceptionD(g: GraphBuilder, x: Ref, key: string): Ref {
  const b3 = basicConv(g, basicConv(g, x, `${key}.branch3x3_1`, { out: 192, k: 1 }), `${key}.branch3x3_2`, { out: 320, k: 3, stride: 2 });
  let d = basicConv(g, x, `${key}.branch7x7x3_1`, { out: 192, k: 1 });
  d = basicConv(g, d, `${key}.branch7x7x3_2`, { out: 192, k: K17[0], pad: K17[1] });
  d = basicConv(g, d, `${key}.branch7x7x3_3`, { out: 192, k: K71[0], pad: K71[1] });
  d = basicConv(g, d, `${key}.branch7x7x3_4`, { out: 192, k: 3, stride: 2 });
  return g.concat([b3, d, g.maxPool(x, { k: 3, stride: 2 })]);
}

/** 8x8 block with split 1x3 / 3x1 heads: 1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | avg pool -> 1x1. */
function inceptionE(g: GraphBuilder, x: Ref, key: string): Ref {
  const b = (name: string, from: Ref, out: number, k: number | [number, number], pad: number | [number, number] = 0) =>
    basicConv(g, from, `${key}.${name}`, { out, k, pad });
  const b1 = b('branch1x1', x, 320, 1);
  const s = b('branch3x3_1', x, 384, 1);
  const b3 = g.concat([b('branch3x3_2a', s, 384, [1, 3], [0, 1]), b('branch3x3_2b', s, 384, [3, 1], [1, 0])]);
  const t = b('branch3x3dbl_2', b('branch3x3dbl_1', x, 448, 1), 384, 3, 1);
  const d = g.concat([b('branch3x3dbl_3a', t, 384, [1, 3], [0, 1]), b('branch3x3dbl_3b', t, 384, [3, 1], [1, 0])]);
  const p = b('branch_pool', avg3(g, x), 192, 1);
  return g.concat([b1, b3, d, p]);
}

/**
 * Inception v3's top-level children from Conv2d_1a_3x3 to Mixed_7c in registration order with
 * AuxLogits skipped (so Mixed_7a is child 15), each a tap named as the child. The graph has no
 * transform_input: the study runs the children directly (see transformInput).
 */
export function inceptionV3Graph(g: GraphBuilder): Ref {
  let x = g.input(3);
  let idx = 0;
  const tap = (name: string, what: string) => {
    g.tap(name, x, { studyIndex: idx, description: `${name} (child ${idx}): ${what}` });
    idx++;
  };
  const conv = (name: string, out: number, k: number, stride = 1, pad = 0) => {
    x = basicConv(g, x, name, { out, k, stride, pad });
    tap(name, `conv ${k}x${k}${stride > 1 ? `/${stride}` : ''}${pad ? ` pad ${pad}` : ''} + BN + ReLU, ${out} channels`);
  };
  const pool = (name: string) => {
    x = g.maxPool(x, { k: 3, stride: 2 });
    tap(name, 'max pool 3x3/2');
  };
  const block = (name: string, kind: string, build: (from: Ref) => Ref) => {
    x = build(x);
    tap(name, `${kind}, ${x.channels} channels`);
  };

  conv('Conv2d_1a_3x3', 32, 3, 2);
  conv('Conv2d_2a_3x3', 32, 3);
  conv('Conv2d_2b_3x3', 64, 3, 1, 1);
  pool('maxpool1');
  conv('Conv2d_3b_1x1', 80, 1);
  conv('Conv2d_4a_3x3', 192, 3);
  pool('maxpool2');
  block('Mixed_5b', 'InceptionA', (v) => inceptionA(g, v, 'Mixed_5b', 32));
  block('Mixed_5c', 'InceptionA', (v) => inceptionA(g, v, 'Mixed_5c', 64));
  block('Mixed_5d', 'InceptionA', (v) => inceptionA(g, v, 'Mixed_5d', 64));
  block('Mixed_6a', 'InceptionB (grid reduction)', (v) => inceptionB(g, v, 'Mixed_6a'));
  for (const [name, c7] of [
    ['Mixed_6b', 128],
    ['Mixed_6c', 160],
    ['Mixed_6d', 160],
    ['Mixed_6e', 192],
  ] as const) {
    block(name, `InceptionC (channels_7x7 ${c7})`, (v) => inceptionC(g, v, name, c7));
  }
  block('Mixed_7a', 'InceptionD (grid reduction)', (v) => inceptionD(g, v, 'Mixed_7a'));
  block('Mixed_7b', 'InceptionE', (v) => inceptionE(g, v, 'Mixed_7b'));
  block('Mixed_7c', 'InceptionE', (v) => inceptionE(g, v, 'Mixed_7c'));
  return x;
}
