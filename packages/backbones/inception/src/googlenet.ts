import type { GraphBuilder, Ref } from '@dpl/core';
import { basicConv } from './basic-conv';

/** Inception module widths, torchvision order: [1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool proj]. */
type InceptionCfg = [number, number, number, number, number, number];

const MODULES: [string, InceptionCfg][] = [
  ['inception3a', [64, 96, 128, 16, 32, 32]],
  ['inception3b', [128, 128, 192, 32, 96, 64]],
  ['inception4a', [192, 96, 208, 16, 48, 64]],
  ['inception4b', [160, 112, 224, 24, 64, 64]],
  ['inception4c', [128, 128, 256, 24, 64, 64]],
  ['inception4d', [112, 144, 288, 32, 64, 64]],
  ['inception4e', [256, 160, 320, 32, 128, 128]],
  ['inception5a', [256, 160, 320, 32, 128, 128]],
  ['inception5b', [384, 192, 384, 48, 128, 128]],
];

/**
 * One GoogLeNet Inception module. The third branch is 1x1 -> 3x3: torchvision keeps a 3x3 where
 * the paper has a 5x5 (a known quirk the V1 weights were trained with), so we must too.
 */
function inception(g: GraphBuilder, x: Ref, key: string, [c1, r3, c3, r5, c5, pp]: InceptionCfg): Ref {
  const b1 = basicConv(g, x, `${key}.branch1`, { out: c1, k: 1 });
  const b2 = basicConv(g, basicConv(g, x, `${key}.branch2.0`, { out: r3, k: 1 }), `${key}.branch2.1`, { out: c3, k: 3, pad: 1 });
  const b3 = basicConv(g, basicConv(g, x, `${key}.branch3.0`, { out: r5, k: 1 }), `${key}.branch3.1`, { out: c5, k: 3, pad: 1 });
  const pooled = g.maxPool(x, { k: 3, stride: 1, pad: 1, ceil: true });
  const b4 = basicConv(g, pooled, `${key}.branch4.1`, { out: pp, k: 1 });
  return g.concat([b1, b2, b3, b4]);
}

/**
 * GoogLeNet's top-level children from conv1 to inception5b, in registration order (aux heads,
 * avgpool, dropout and fc are not feature layers). Each child's output is a tap named as the
 * child, with its index in that list as the study index. transform_input is not part of the
 * graph: the study runs the children directly (see transformInput for users who want it).
 */
export function googlenetGraph(g: GraphBuilder): Ref {
  let x = g.input(3);
  let idx = 0;
  const tap = (name: string, what: string) => {
    g.tap(name, x, { studyIndex: idx, description: `${name} (child ${idx}): ${what}` });
    idx++;
  };
  const maxPool = (name: string, k: number) => {
    x = g.maxPool(x, { k, stride: 2, ceil: true });
    tap(name, `max pool ${k}x${k}/2, ceil mode`);
  };
  const block = (name: string, cfg: InceptionCfg) => {
    x = inception(g, x, name, cfg);
    tap(name, `Inception module, ${x.channels} channels`);
  };

  x = basicConv(g, x, 'conv1', { out: 64, k: 7, stride: 2, pad: 3 });
  tap('conv1', 'conv 7x7/2 + BN + ReLU, 64 channels');
  maxPool('maxpool1', 3);
  x = basicConv(g, x, 'conv2', { out: 64, k: 1 });
  tap('conv2', 'conv 1x1 + BN + ReLU, 64 channels');
  x = basicConv(g, x, 'conv3', { out: 192, k: 3, pad: 1 });
  tap('conv3', 'conv 3x3 + BN + ReLU, 192 channels');
  maxPool('maxpool2', 3);
  for (const [name, cfg] of MODULES) {
    block(name, cfg);
    if (name === 'inception3b') maxPool('maxpool3', 3);
    if (name === 'inception4e') maxPool('maxpool4', 2);
  }
  return x;
}
