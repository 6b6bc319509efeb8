import { defineFamily, isDplError, torchvisionWeights, type FamilySpec, type FamilyVariant, type GraphBuilder } from '@dpl/core';

interface Toy extends FamilyVariant {
  width: number;
}

const spec = (study?: Record<string, string[]>): FamilySpec<Toy> => ({
  family: 'toy',
  variants: {
    toy_s: { width: 4, weights: 'toy_s-0123abcd.pth', top1: 50.5, params: 0.1, description: 'small' },
    toy_l: {
      width: 8,
      batchNorm: true,
      ignorePrefixes: ['aux.'],
      weights: { file: 'l.pth', url: 'https://example.invalid/l.pth', sha256Prefix: 'ff', bytes: 9 },
      description: 'large',
    },
  },
  build: (g: GraphBuilder, v) => {
    let x = g.input(3);
    x = g.tap('conv1', g.conv(x, 'features.0', { out: v.width, k: 3, pad: 1 }), { studyIndex: 0 });
    x = g.tap('relu1', g.relu(x), { studyIndex: 1 });
    g.tap('pool1', g.maxPool(x, { k: 2 }), { studyIndex: 2 });
  },
  studyPoints: study,
  batchNorm: false,
  ignorePrefixes: ['head.'],
});
const toy = (study?: Record<string, string[]>) => defineFamily(spec(study));

describe('defineFamily', () => {
  it('makes one Backbone per variant with the metadata of its table row', () => {
    const f = toy({ toy_s: ['relu1', 'conv1'] });
    expect(f.ids).toEqual(['toy_s', 'toy_l']);
    const [s, l] = f.backbones();
    expect(s.family).toBe('toy');
    expect(s.metadata).toEqual({
      imagenetTop1: 50.5,
      paramsMillions: 0.1,
      batchNorm: false,
      normalization: 'imagenet',
      inStudy: true,
      weights: { file: 'toy_s-0123abcd.pth', url: 'https://download.pytorch.org/models/toy_s-0123abcd.pth', sha256Prefix: '0123abcd' },
      description: 'small',
    });
    expect(l.metadata.inStudy).toBe(false);
    expect(l.metadata.batchNorm).toBe(true);
    expect(l.metadata.weights).toEqual({ file: 'l.pth', url: 'https://example.invalid/l.pth', sha256Prefix: 'ff', bytes: 9 });
    expect(l.points()[0].channels).toBe(8);
  });

  it('study points get paper indices in the order given; others none', () => {
    const s = toy({ toy_s: ['relu1', 'conv1'] }).backbone('toy_s');
    expect(s.points().map((p) => [p.name, p.paperIndex])).toEqual([
      ['conv1', 2],
      ['relu1', 1],
      ['pool1', undefined],
    ]);
    expect(s.point('E1').name).toBe('relu1');
    expect(
      toy()
        .backbone('toy_s')
        .points()
        .some((p) => p.paper),
    ).toBe(false);
  });

  it('a study point that is not a tap, or an unknown id, is a clear error', () => {
    const f = toy({ toy_s: ['relu9'] });
    expect(() => f.backbone('toy_s').points()).toThrow(/toy_s study point 'relu9'.*not a tap/);
    let e: unknown;
    try {
      f.backbone('toy_xl');
    } catch (err) {
      e = err;
    }
    expect(isDplError(e) && /toy_xl.*use one of: toy_s, toy_l/s.test((e as Error).message + (e as { hint?: string }).hint)).toBe(true);
  });

  it("ignores the family's prefixes, or a variant's own", () => {
    const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const sd = (width: number, extra: string) =>
      new Map([
        ['features.0.weight', f32([width, 3, 3, 3])],
        ['features.0.bias', f32([width])],
        [extra, f32([1])],
      ]);
    const [s, l] = toy().backbones();
    expect(() => s.prepareWeights(sd(4, 'head.weight'), 'x.pth')).not.toThrow();
    expect(() => l.prepareWeights(sd(8, 'aux.weight'), 'x.pth')).not.toThrow();
    expect(() => l.prepareWeights(sd(8, 'head.weight'), 'x.pth')).toThrow(/head\.weight/);
  });

  it('torchvisionWeights reads the hash prefix from the file name and refuses a name without one', () => {
    expect(torchvisionWeights('vgg16-397923af.pth', 5)).toEqual({
      file: 'vgg16-397923af.pth',
      url: 'https://download.pytorch.org/models/vgg16-397923af.pth',
      sha256Prefix: '397923af',
      bytes: 5,
    });
    expect(() => torchvisionWeights('vgg16.pth')).toThrow(/vgg16\.pth/);
  });
});
