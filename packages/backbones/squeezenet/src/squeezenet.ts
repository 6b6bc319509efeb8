import { defineFamily, type FamilyVariant, type GraphBackbone, type GraphBuilder, type Ref } from '@dpl/core';

/** [squeeze, expand1x1, expand3x3] channels of one Fire module. */
type Fire = [number, number, number];
/** One child of torchvision's SqueezeNet `features` after the stem: a Fire module or a max pool. */
type Item = Fire | 'M';

interface Variant extends FamilyVariant {
  conv1: { out: number; k: number };
  body: Item[];
}

const VARIANTS: Record<string, Variant> = {
  squeezenet1_0: {
    conv1: { out: 96, k: 7 },
    body: [
      [16, 64, 64],
      [16, 64, 64],
      [32, 128, 128],
      'M',
      [32, 128, 128],
      [48, 192, 192],
      [48, 192, 192],
      [64, 256, 256],
      'M',
      [64, 256, 256],
    ],
    weights: 'squeezenet1_0-b66bff10.pth',
    top1: 58.092,
    params: 1.25,
    description: 'SqueezeNet 1.0 (Iandola et al. 2016)',
  },
  squeezenet1_1: {
    conv1: { out: 64, k: 3 },
    body: [
      [16, 64, 64],
      [16, 64, 64],
      'M',
      [32, 128, 128],
      [32, 128, 128],
      'M',
      [48, 192, 192],
      [48, 192, 192],
      [64, 256, 256],
      [64, 256, 256],
    ],
    weights: 'squeezenet1_1-b8a52dc0.pth',
    top1: 58.178,
    params: 1.24,
    description: 'SqueezeNet 1.1 (Iandola et al. 2016; the revision with a 3x3 stem and earlier pooling)',
  },
};

/**
 * Builds `model.features` as torchvision does, then the classifier's 1x1 conv (`classifier.1`,
 * the paper's conv10) and its ReLU: the study counts that conv in the network's depth (26 convs),
 * so relative depth needs it in the graph. Dropout and the global average pool are left out.
 * Fire modules are numbered fire2..fire9 and pools after the layer they follow, as in the paper.
 */
function squeezenetGraph(g: GraphBuilder, v: Variant): void {
  let idx = 0;
  const tap = (name: string, x: Ref, what: string, child = true) => {
    g.tap(name, x, { studyIndex: child ? idx : undefined, description: child ? `features.${idx}: ${what}` : what });
  };

  let x = g.input(3);
  x = g.conv(x, 'features.0', { out: v.conv1.out, k: v.conv1.k, stride: 2 });
  tap('conv1', x, `conv ${v.conv1.k}x${v.conv1.k} stride 2, ${v.conv1.out} channels`);
  idx++;
  x = g.relu(x);
  tap('relu1', x, 'ReLU');
  idx++;

  let last = 1; // number of the layer the next pool follows
  let fire = 2;
  for (const item of ['M', ...v.body] as Item[]) {
    if (item === 'M') {
      // ceil_mode: the last window may hang over the edge (changes sizes at odd inputs)
      x = g.maxPool(x, { k: 3, stride: 2, ceil: true });
      tap(`pool${last}`, x, 'max pool 3x3 stride 2, ceil mode');
    } else {
      const [s, e1, e3] = item;
      const key = `features.${idx}`;
      const name = `fire${fire}`;
      const sq = g.relu(g.conv(x, `${key}.squeeze`, { out: s, k: 1 }));
      tap(`${name}.squeeze`, sq, `${key}.squeeze + ReLU: 1x1 conv, ${s} channels`, false);
      const a = g.relu(g.conv(sq, `${key}.expand1x1`, { out: e1, k: 1 }));
      tap(`${name}.expand1x1`, a, `${key}.expand1x1 + ReLU: 1x1 conv, ${e1} channels`, false);
      const b = g.relu(g.conv(sq, `${key}.expand3x3`, { out: e3, k: 3, pad: 1 }));
      tap(`${name}.expand3x3`, b, `${key}.expand3x3 + ReLU: 3x3 conv, ${e3} channels`, false);
      x = g.concat([a, b]);
      tap(name, x, `Fire module ${name}: squeeze ${s}, expand ${e1} (1x1) + ${e3} (3x3)`);
      last = fire;
      fire++;
    }
    idx++;
  }

  x = g.conv(x, 'classifier.1', { out: 1000, k: 1 });
  tap('conv10', x, 'classifier.1: 1x1 conv to the 1000 class maps (outside features)', false);
  x = g.relu(x);
  tap('relu10', x, 'classifier.2: ReLU (outside features)', false);
}

export const squeezenetFamily = defineFamily({
  family: 'squeezenet',
  variants: VARIANTS,
  build: squeezenetGraph,
  // docs/PROTOCOL.md section 2: features 1, 3, 7, 12
  studyPoints: { squeezenet1_1: ['relu1', 'fire2', 'fire5', 'fire9'] },
  batchNorm: false,
  // every parameter of the model (classifier.1 included) is in the graph: nothing to ignore
  ignorePrefixes: [],
});

export const SQUEEZENET_IDS = squeezenetFamily.ids;
export const squeezenetBackbones = (): GraphBackbone[] => squeezenetFamily.backbones();
