import { totalConvs, totalParams, type Graph } from '@dpl/core';
import { efficientnetBackbones, efficientnetShape } from '../src/efficientnet';

const byId = new Map(efficientnetBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;
const count = (g: Graph, kind: string) => g.nodes.filter((n) => n.op.kind === kind).length;

describe('EfficientNetV2 graphs', () => {
  // torchvision 0.14 (/usr/bin/python3), per network: [len(m.features[i]) for the stages], their
  // output widths, stem width, convs and parameters of m.features, feature state_dict keys
  // (num_batches_tracked aside), blocks with use_res_connect
  it.each([
    ['efficientnet_v2_s', [2, 4, 4, 6, 9, 15], [24, 48, 64, 128, 160, 256], 24, 170, 20177488, 670, 35],
    ['efficientnet_v2_m', [3, 5, 5, 7, 14, 18, 5], [24, 48, 80, 160, 176, 304, 512], 24, 245, 52858356, 961, 51],
    ['efficientnet_v2_l', [4, 7, 7, 10, 19, 25, 7], [32, 64, 96, 192, 224, 384, 640], 32, 339, 117234272, 1329, 73],
  ])(
    '%s: blocks %j, widths %j, stem %d, %d convs, %d parameters, %d keys, %d shortcuts as torchvision',
    (id, blocks, widths, stem, convs, params, keys, shortcuts) => {
      const shape = efficientnetShape(id);
      expect(shape.stages.map((s) => s.blocks)).toEqual(blocks);
      expect(shape.stages.map((s) => s.out)).toEqual(widths);
      expect(shape.stem).toBe(stem);
      expect(shape.head).toBe(1280);
      expect(shape.stages.map((s) => s.fused)).toEqual(blocks.map((_, i) => i < 3));
      const b = get(id);
      const g = b.graph();
      expect(totalConvs(g)).toBe(convs);
      expect(totalParams(g)).toBe(params);
      expect(b.expectedParams()).toHaveLength(keys);
      expect(count(g, 'add')).toBe(shortcuts);
      // SE gates only in the MBConv stages
      expect(count(g, 'mul')).toBe(blocks.slice(3).reduce((a, n) => a + n, 0));
      const eps = new Set(g.nodes.flatMap((n) => (n.op.kind === 'batchNorm' ? [n.op.eps] : [])));
      expect([...eps]).toEqual([1e-3]);
      const nBlocks = blocks.reduce((a, n) => a + n, 0);
      expect(b.points()).toHaveLength(2 + nBlocks); // stem, every block (a stage's last = the stage), head
      expect(b.points().every((p) => p.studyIndex === undefined && p.description?.startsWith(`${p.torchModule}:`))).toBe(true);
      expect(b.point('head').torchModule).toBe(`features.${blocks.length + 1}`);
    },
  );

  it('default points: stem, stage 1, the block nearest half of the blocks (ties to the earlier), the last stage', () => {
    // S: 20 of 40 blocks = 2 + 4 + 4 + 6 + 4; M: 28 of 57 = 20 + 8; L: 39 of 79 = 28 + 11
    expect(
      get('efficientnet_v2_s')
        .resolvePoints('paper')
        .map((p) => [p.name, p.torchModule, p.channels, p.stride]),
    ).toEqual([
      ['stem', 'features.0', 24, 2],
      ['stage1', 'features.1', 24, 2],
      ['stage5.3', 'features.5.3', 160, 16],
      ['stage6', 'features.6', 256, 32],
    ]);
    expect(
      get('efficientnet_v2_m')
        .resolvePoints('paper')
        .map((p) => p.name),
    ).toEqual(['stem', 'stage1', 'stage5.7', 'stage7']);
    expect(
      get('efficientnet_v2_l')
        .resolvePoints('paper')
        .map((p) => p.name),
    ).toEqual(['stem', 'stage1', 'stage5.10', 'stage7']);
    expect(get('efficientnet_v2_s').metadata.inStudy).toBe(false);
  });

  it('FusedMBConv keys: one kxk conv without expansion, kxk expand + 1x1 project with it; MBConv SE from the input width', () => {
    const ps = new Map(
      get('efficientnet_v2_s')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    // the torchvision probe's shapes
    expect(ps.get('features.1.0.block.0.0.weight')).toEqual([24, 24, 3, 3]);
    expect(ps.has('features.1.0.block.1.0.weight')).toBe(false);
    expect(ps.get('features.2.0.block.0.0.weight')).toEqual([96, 24, 3, 3]);
    expect(ps.get('features.2.0.block.1.0.weight')).toEqual([48, 96, 1, 1]);
    expect(ps.get('features.4.0.block.0.0.weight')).toEqual([256, 64, 1, 1]);
    expect(ps.get('features.4.0.block.1.0.weight')).toEqual([256, 1, 3, 3]);
    expect(ps.get('features.4.0.block.2.fc1.weight')).toEqual([16, 256, 1, 1]);
    expect(ps.get('features.4.1.block.2.fc1.weight')).toEqual([32, 512, 1, 1]);
    expect(ps.get('features.4.0.block.3.0.weight')).toEqual([128, 256, 1, 1]);
    expect(ps.get('features.7.0.weight')).toEqual([1280, 256, 1, 1]);
    const conv = get('efficientnet_v2_s')
      .graph()
      .nodes.find((n) => n.op.kind === 'conv' && n.op.key === 'features.2.0.block.0.0')!.op;
    expect(conv).toMatchObject({ groups: 1, kernel: [3, 3], stride: [2, 2], pad: [1, 1], bias: false });
  });

  it('stochastic depth: 0.2 * block / 40 on the residual sums (torchvision StochasticDepth p of blocks with a shortcut)', () => {
    const drops = get('efficientnet_v2_s')
      .graph()
      .nodes.filter((n) => n.op.kind === 'add')
      .map((n) => (n.op as { dropPath?: number }).dropPath ?? 0);
    // /usr/bin/python3: the first six p of StochasticDepth modules in blocks with use_res_connect
    [0, 0.005, 0.015, 0.02, 0.025, 0.035].forEach((p, i) => expect(drops[i]).toBeCloseTo(p, 12));
    expect(drops).toHaveLength(35);
  });

  it('metadata: torchvision IMAGENET1K_V1 weights with SHA-256 prefixes, top-1 and params', () => {
    const m = get('efficientnet_v2_s').metadata;
    expect(m.weights).toEqual({
      file: 'efficientnet_v2_s-dd5fe13b.pth',
      url: 'https://download.pytorch.org/models/efficientnet_v2_s-dd5fe13b.pth',
      sha256Prefix: 'dd5fe13b',
    });
    expect(m.imagenetTop1).toBeCloseTo(84.228);
    expect(m.paramsMillions).toBeCloseTo(21.458488);
    expect(get('efficientnet_v2_m').metadata.weights?.sha256Prefix).toBe('dc08266a');
    expect(get('efficientnet_v2_l').metadata.weights?.sha256Prefix).toBe('59c71312');
    expect(get('efficientnet_v2_l').metadata.description).toMatch(/mean = std = 0.5/);
  });
});
