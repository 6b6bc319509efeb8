import { totalConvs, totalParams, type Graph } from '@dpl/core';
import { MOBILENET_IDS, makeDivisible, mobilenetBackbones, mobilenetStageEnds } from '../src/mobilenet';

const byId = new Map(mobilenetBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;
const count = (g: Graph, kind: string) => g.nodes.filter((n) => n.op.kind === kind).length;

describe('MobileNetV3 graphs', () => {
  // torchvision 0.14 (/usr/bin/python3), per network: len(m.features), convs in m.features,
  // sum(p.numel() for p in m.features.parameters()), feature state_dict keys without num_batches_tracked,
  // and (out_channels, 64 // out_height) after every child of m.features for a 64x64 input
  it.each([
    [
      'mobilenet_v3_large',
      17,
      62,
      2971952,
      262,
      [16, 16, 24, 24, 40, 40, 40, 80, 80, 80, 80, 112, 112, 160, 160, 160, 960],
      [2, 2, 4, 4, 8, 8, 8, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32],
    ],
    [
      'mobilenet_v3_small',
      13,
      52,
      927008,
      206,
      [16, 16, 24, 24, 40, 40, 40, 48, 48, 96, 96, 96, 576],
      [2, 4, 8, 8, 16, 16, 16, 16, 16, 32, 32, 32, 32],
    ],
  ])(
    '%s: %d modules, %d convs, %d feature parameters, %d state_dict keys, channels and strides as torchvision',
    (id, modules, convs, params, keys, channels, strides) => {
      const b = get(id);
      const g = b.graph();
      expect(totalConvs(g)).toBe(convs);
      expect(totalParams(g)).toBe(params);
      expect(b.expectedParams()).toHaveLength(keys);
      const pts = b.points();
      expect(pts).toHaveLength(modules);
      expect(pts.map((p) => p.torchModule)).toEqual(Array.from({ length: modules }, (_, i) => `features.${i}`));
      expect(pts.map((p) => p.channels)).toEqual(channels);
      expect(pts.map((p) => p.stride)).toEqual(strides);
      expect(pts.every((p) => p.studyIndex === undefined && p.description?.startsWith(`${p.torchModule}:`))).toBe(true);
    },
  );

  it('squeeze-excitation gates: hardsigmoid scale, ReLU inside, squeeze width _make_divisible(expanded // 4, 8)', () => {
    const g = get('mobilenet_v3_large').graph();
    expect(count(g, 'mul')).toBe(8);
    expect(count(g, 'hardsigmoid')).toBe(8);
    expect(count(g, 'sigmoid')).toBe(0);
    const ps = new Map(
      get('mobilenet_v3_large')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    // the torchvision probe's fc1 shapes
    expect(ps.get('features.4.block.2.fc1.weight')).toEqual([24, 72, 1, 1]);
    expect(ps.get('features.12.block.2.fc1.weight')).toEqual([168, 672, 1, 1]);
    expect(ps.get('features.12.block.2.fc2.bias')).toEqual([672]);
    expect(ps.get('features.1.block.0.0.weight')).toEqual([16, 1, 3, 3]); // no expansion: block.0 is the depthwise conv
    expect(ps.get('features.16.0.weight')).toEqual([960, 160, 1, 1]);
    expect(
      get('mobilenet_v3_small')
        .expectedParams()
        .find((p) => p.key === 'features.1.block.1.fc1.weight')?.shape,
    ).toEqual([8, 16, 1, 1]);
    expect(makeDivisible(18)).toBe(24);
  });

  it('activations: hardswish in the stem, head and HS blocks, ReLU in RE blocks; BN eps 1e-3', () => {
    const g = get('mobilenet_v3_small').graph();
    // stem + head + 8 HS blocks with expansion (2 hardswish each)
    expect(count(g, 'hardswish')).toBe(2 + 8 * 2);
    // 3 RE blocks: block1 (no expansion: depthwise + SE's ReLU), blocks 2 and 3 (expand + depthwise); 9 SE ReLUs in all
    expect(count(g, 'relu')).toBe(1 + 2 * 2 + 9);
    const eps = new Set(g.nodes.flatMap((n) => (n.op.kind === 'batchNorm' ? [n.op.eps] : [])));
    expect([...eps]).toEqual([1e-3]);
    // identity shortcuts where stride 1 and in == out
    expect(count(g, 'add')).toBe(6);
    expect(count(get('mobilenet_v3_large').graph(), 'add')).toBe(10);
  });

  it('stages are runs of blocks at one resolution; default points stem, first stage, middle block, last block', () => {
    expect(mobilenetStageEnds('mobilenet_v3_large')).toEqual([1, 3, 6, 12, 15]);
    expect(mobilenetStageEnds('mobilenet_v3_small')).toEqual([1, 3, 8, 11]);
    const large = get('mobilenet_v3_large');
    expect(large.resolvePoints('paper').map((p) => p.name)).toEqual(['stem', 'block1', 'block7', 'block15']);
    expect(
      get('mobilenet_v3_small')
        .resolvePoints('paper')
        .map((p) => p.name),
    ).toEqual(['stem', 'block1', 'block5', 'block11']);
    expect(large.point('E4').torchModule).toBe('features.15');
    expect(large.point('stage4').name).toBe('block12');
    expect(large.point('head').channels).toBe(960);
    for (const id of MOBILENET_IDS) expect(get(id).metadata.inStudy).toBe(false);
  });

  it('metadata: torchvision DEFAULT weights with SHA-256 prefixes, top-1 and params', () => {
    const m = get('mobilenet_v3_large').metadata;
    expect(m.weights).toEqual({
      file: 'mobilenet_v3_large-5c1a4163.pth',
      url: 'https://download.pytorch.org/models/mobilenet_v3_large-5c1a4163.pth',
      sha256Prefix: '5c1a4163',
    });
    expect(m.imagenetTop1).toBeCloseTo(75.274);
    expect(m.paramsMillions).toBeCloseTo(5.483032);
    expect(get('mobilenet_v3_small').metadata.weights?.sha256Prefix).toBe('047dcff4');
    expect(get('mobilenet_v3_small').metadata.imagenetTop1).toBeCloseTo(67.668);
  });

  it('padding everywhere: every point has an output for any input size', () => {
    for (const p of get('mobilenet_v3_small').points()) expect(p.minInputSize).toBe(1);
  });
});
