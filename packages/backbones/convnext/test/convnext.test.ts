import { totalConvs, totalParams, type Graph } from '@dpl/core';
import { CONVNEXT_IDS, convnextBackbones, convnextDefaultPoints } from '../src/convnext';

const byId = new Map(convnextBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;
const count = (g: Graph, kind: string) => g.nodes.filter((n) => n.op.kind === kind).length;

describe('ConvNeXt graphs', () => {
  // torchvision 0.14, per variant: features state_dict keys, sum(v.numel()) over them,
  // Conv2d and Linear modules in m.features, and the StochasticDepth probabilities
  it.each([
    ['convnext_tiny', 178, 27818592, 22, 36, 18, 0.1],
    ['convnext_small', 340, 49453152, 40, 72, 36, 0.4],
    ['convnext_base', 340, 87564416, 40, 72, 36, 0.5],
    ['convnext_large', 340, 196227264, 40, 72, 36, 0.5],
  ])(
    '%s: %d parameter tensors, %d feature parameters, %d convs, %d linears, %d blocks as torchvision',
    (id, keys, params, convs, linears, blocks, sd) => {
      const b = get(id);
      const g = b.graph();
      expect(b.expectedParams()).toHaveLength(keys);
      expect(totalParams(g)).toBe(params);
      expect(count(g, 'conv')).toBe(convs);
      expect(count(g, 'channelLinear')).toBe(linears);
      expect(count(g, 'gelu')).toBe(blocks);
      // torchvision: stochastic_depth_prob * j / (blocks - 1) for block j; block 0's 0 is a plain sum
      const drops = g.nodes.filter((n) => n.op.kind === 'add').map((n) => (n.op as { dropPath?: number }).dropPath ?? 0);
      expect(drops).toHaveLength(blocks);
      drops.forEach((d, j) => expect(d).toBeCloseTo((sd * j) / (blocks - 1), 12));
      // a tap per block, the stem and three downsampling layers
      expect(b.points()).toHaveLength(blocks + 4);
      expect(totalConvs(g)).toBeGreaterThan(0);
    },
  );

  it('parameter keys and shapes are torchvision state_dict keys', () => {
    const ps = new Map(
      get('convnext_tiny')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    expect(ps.get('features.0.0.weight')).toEqual([96, 3, 4, 4]);
    expect(ps.get('features.0.1.weight')).toEqual([96]);
    expect(ps.get('features.1.0.layer_scale')).toEqual([96, 1, 1]);
    expect(ps.get('features.1.0.block.0.weight')).toEqual([96, 1, 7, 7]);
    expect(ps.get('features.1.0.block.2.bias')).toEqual([96]);
    expect(ps.get('features.1.0.block.3.weight')).toEqual([384, 96]);
    expect(ps.get('features.1.0.block.5.weight')).toEqual([96, 384]);
    expect(ps.get('features.2.0.weight')).toEqual([96]);
    expect(ps.get('features.2.1.weight')).toEqual([192, 96, 2, 2]);
    expect(ps.get('features.7.2.block.5.bias')).toEqual([768]);
    expect([...ps.keys()].some((k) => k.startsWith('classifier'))).toBe(false);
  });

  it('LayerNorm eps 1e-6 everywhere (torchvision LayerNorm2d and the blocks norm_layer)', () => {
    for (const id of CONVNEXT_IDS) {
      const eps = new Set(
        get(id)
          .graph()
          .nodes.flatMap((n) => (n.op.kind === 'layerNorm' ? [n.op.eps] : [])),
      );
      expect([...eps]).toEqual([1e-6]);
    }
  });

  it('default points: stem, stage1, the block nearest half depth, stage4 (docs/MODERN.md)', () => {
    // tiny: 18 blocks, 9 done after stage3's third block; the others: 36 blocks, 18 done after stage3.11
    expect(convnextDefaultPoints('convnext_tiny')).toEqual(['stem', 'stage1', 'stage3.2', 'stage4']);
    for (const id of ['convnext_small', 'convnext_base', 'convnext_large'])
      expect(convnextDefaultPoints(id)).toEqual(['stem', 'stage1', 'stage3.11', 'stage4']);
    const b = get('convnext_tiny');
    const paper = b.resolvePoints('paper');
    expect(paper.map((p) => p.name)).toEqual(['stem', 'stage1', 'stage3.2', 'stage4']);
    expect(paper.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
    expect(paper.map((p) => p.torchModule)).toEqual(['features.0', 'features.1', 'features.5.2', 'features.7']);
    expect(paper.map((p) => p.channels)).toEqual([96, 96, 384, 768]);
    expect(paper.map((p) => p.stride)).toEqual([4, 4, 16, 32]);
    // stem 4x4/4 -> 4; three depthwise 7x7 at jump 4 add 3 * 6 * 4
    expect(paper.map((p) => p.receptiveField).slice(0, 2)).toEqual([4, 76]);
    expect(b.metadata.inStudy).toBe(false);
  });

  it('every block boundary is a tap naming its torchvision module', () => {
    const b = get('convnext_tiny');
    const names = b.points().map((p) => [p.name, p.torchModule]);
    expect(names.slice(0, 6)).toEqual([
      ['stem', 'features.0'],
      ['stage1.0', 'features.1.0'],
      ['stage1.1', 'features.1.1'],
      ['stage1', 'features.1'],
      ['down1', 'features.2'],
      ['stage2.0', 'features.3.0'],
    ]);
    expect(b.point('stage3.8').name).toBe('stage3'); // the last block of a stage is the stage
    expect(b.point('down3').torchModule).toBe('features.6');
    expect(b.point('down3').channels).toBe(768);
    for (const p of b.points()) {
      expect(p.torchModule).toMatch(/^features\.\d+(\.\d+)?$/);
      expect(p.description).toContain(p.torchModule);
    }
  });

  it('metadata: IMAGENET1K_V1 weight files with their SHA-256 prefixes, top-1 and params from torchvision', () => {
    const m = get('convnext_tiny').metadata;
    expect(m.weights).toEqual({
      file: 'convnext_tiny-983f1562.pth',
      url: 'https://download.pytorch.org/models/convnext_tiny-983f1562.pth',
      sha256Prefix: '983f1562',
    });
    expect(m.imagenetTop1).toBeCloseTo(82.52);
    expect(m.paramsMillions).toBeCloseTo(28.589128);
    expect(m.batchNorm).toBe(false);
    expect(m.normalization).toBe('imagenet');
    expect(get('convnext_large').metadata.weights?.sha256Prefix).toBe('ea097f82');
    expect(get('convnext_base').metadata.imagenetTop1).toBeCloseTo(84.062);
    expect(get('convnext_small').metadata.paramsMillions).toBeCloseTo(50.223688);
  });

  it('needs at least a 32x32 input (four stride-2/4 stages without padding)', () => {
    expect(get('convnext_tiny').point('stage4').minInputSize).toBe(32);
    expect(get('convnext_tiny').point('stem').minInputSize).toBe(4);
  });
});
