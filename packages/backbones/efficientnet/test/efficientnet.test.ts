import { totalConvs, totalParams, type Graph } from '@dpl/core';
import { EFFICIENTNET_IDS, efficientnetBackbones, efficientnetShape, makeDivisible } from '../src/efficientnet';

const byId = new Map(efficientnetBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;
const count = (g: Graph, kind: string) => g.nodes.filter((n) => n.op.kind === kind).length;

describe('EfficientNet graphs', () => {
  it('b0 paper points: stem, stage1, stage4, stage7 with channels and stride from the architecture', () => {
    const paper = get('efficientnet_b0')
      .points()
      .filter((p) => p.paper);
    expect(paper.map((p) => p.name)).toEqual(['stem', 'stage1', 'stage4', 'stage7']);
    expect(paper.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
    expect(paper.map((p) => p.channels)).toEqual([32, 16, 80, 320]);
    expect(paper.map((p) => p.stride)).toEqual([2, 2, 16, 32]);
    // stem: 3x3 conv -> 3; stage1's depthwise 3x3 at jump 2 adds 2*2 (SE gates add nothing)
    expect(paper.map((p) => p.receptiveField).slice(0, 2)).toEqual([3, 7]);
  });

  it.each([
    ['efficientnet_b0', [32, 16, 80, 320], [1, 5, 40, 80], 81],
    ['efficientnet_b7', [64, 32, 160, 640], [1, 17, 137, 272], 273],
  ])('%s: study indices 0,1,4,7, channels %j, convolutions %j of %d (docs/PROTOCOL.md section 2)', (id, channels, convs, total) => {
    const b = get(id);
    const paper = b.points().filter((p) => p.paper);
    expect(paper.map((p) => p.studyIndex)).toEqual([0, 1, 4, 7]);
    expect(paper.map((p) => p.channels)).toEqual(channels);
    expect(paper.map((p) => p.stride)).toEqual([2, 2, 16, 32]);
    expect(paper.map((p) => p.convsBefore)).toEqual(convs);
    expect(totalConvs(b.graph())).toBe(total);
    expect(paper.map((p) => p.relativeDepth)).toEqual(convs.map((c) => c / total));
  });

  // torchvision 0.14, per variant: [len(c) for c in m.features[1:8]], m.features[8][0].out_channels,
  // sum(isinstance(x, nn.Conv2d) for x in m.features.modules()), sum(p.numel() for p in m.features.parameters())
  it.each([
    ['efficientnet_b0', [1, 2, 2, 3, 3, 4, 1], 1280, 81, 4007548],
    ['efficientnet_b1', [2, 3, 3, 4, 4, 5, 2], 1280, 115, 6513184],
    ['efficientnet_b2', [2, 3, 3, 4, 4, 5, 2], 1408, 115, 7700994],
    ['efficientnet_b3', [2, 3, 3, 5, 5, 6, 2], 1536, 130, 10696232],
    ['efficientnet_b4', [2, 4, 4, 6, 6, 8, 2], 1792, 160, 17548616],
    ['efficientnet_b5', [3, 5, 5, 7, 7, 9, 3], 2048, 194, 28340784],
    ['efficientnet_b6', [3, 6, 6, 8, 8, 11, 3], 2304, 224, 40735704],
    ['efficientnet_b7', [4, 7, 7, 10, 10, 13, 4], 2560, 273, 63786960],
  ])('%s: blocks per stage %j, head %d channels, %d convs, %d feature parameters as torchvision', (id, blocks, head, convs, params) => {
    const shape = efficientnetShape(id);
    expect(shape.stages.map((s) => s.blocks)).toEqual(blocks);
    expect(shape.head).toBe(head);
    const g = get(id).graph();
    expect(totalConvs(g)).toBe(convs);
    expect(totalParams(g)).toBe(params);
    // one SE gate per block; an identity shortcut in every block but each stage's first
    const nBlocks = blocks.reduce((a, b) => a + b, 0);
    expect(count(g, 'mul')).toBe(nBlocks);
    expect(count(g, 'add')).toBe(nBlocks - 7);
    // points: 9 study modules + every block that does not end its stage
    expect(get(id).points()).toHaveLength(9 + nBlocks - 7);
  });

  it('stage channels of the scaled variants follow _make_divisible(c * width, 8) (torchvision probe)', () => {
    // [m.features[i][-1].out_channels for i in 1..7] and m.features[0][0].out_channels
    expect(efficientnetShape('efficientnet_b3').stages.map((s) => s.out)).toEqual([24, 32, 48, 96, 136, 232, 384]);
    expect(efficientnetShape('efficientnet_b3').stem).toBe(40);
    expect(efficientnetShape('efficientnet_b6').stages.map((s) => s.out)).toEqual([32, 40, 72, 144, 200, 344, 576]);
    expect(efficientnetShape('efficientnet_b6').stem).toBe(56);
  });

  it('makeDivisible equals torchvision _make_divisible(v, 8)', () => {
    // values from torchvision.models._utils._make_divisible
    const cases: [number, number][] = [
      [32 * 1.1, 32],
      [16 * 1.2, 24],
      [24 * 1.4, 32],
      [112 * 1.8, 200],
      [3, 8],
      [11, 16],
      [100, 104],
      [1, 8],
    ];
    for (const [v, want] of cases) expect(makeDivisible(v)).toBe(want);
  });

  it('BatchNorm eps: 1e-5 for b0..b4, 1e-3 for b5..b7 and V2 (torchvision norm_layer)', () => {
    for (const id of EFFICIENTNET_IDS) {
      const eps = new Set(
        get(id)
          .graph()
          .nodes.flatMap((n) => (n.op.kind === 'batchNorm' ? [n.op.eps] : [])),
      );
      const tf = ['efficientnet_b5', 'efficientnet_b6', 'efficientnet_b7'].includes(id) || id.startsWith('efficientnet_v2_');
      expect([...eps]).toEqual([tf ? 1e-3 : 1e-5]);
    }
  });

  it('parameter keys and shapes are torchvision state_dict keys', () => {
    const ps = new Map(
      get('efficientnet_b0')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    // len([k for k in efficientnet_b0().state_dict() if k.startswith('features') and 'num_batches' not in k]) == 309
    expect(ps.size).toBe(309);
    expect(get('efficientnet_b7').expectedParams()).toHaveLength(1035);
    expect(ps.get('features.0.0.weight')).toEqual([32, 3, 3, 3]);
    expect(ps.has('features.0.0.bias')).toBe(false);
    expect(ps.get('features.0.1.running_var')).toEqual([32]);
    // stage 1 has no expansion: block.0 is the depthwise conv, block.1 SE, block.2 project
    expect(ps.get('features.1.0.block.0.0.weight')).toEqual([32, 1, 3, 3]);
    expect(ps.get('features.1.0.block.1.fc1.weight')).toEqual([8, 32, 1, 1]);
    expect(ps.get('features.1.0.block.1.fc1.bias')).toEqual([8]);
    expect(ps.get('features.1.0.block.2.0.weight')).toEqual([16, 32, 1, 1]);
    // expansion x6: block.0 expand, block.1 depthwise (5x5 in stage 3), block.2 SE (squeeze = in / 4), block.3 project
    expect(ps.get('features.2.0.block.0.0.weight')).toEqual([96, 16, 1, 1]);
    expect(ps.get('features.3.1.block.1.0.weight')).toEqual([240, 1, 5, 5]);
    expect(ps.get('features.2.0.block.2.fc1.weight')).toEqual([4, 96, 1, 1]);
    expect(ps.get('features.2.1.block.2.fc2.weight')).toEqual([144, 6, 1, 1]);
    expect(ps.get('features.2.0.block.3.0.weight')).toEqual([24, 96, 1, 1]);
    expect(ps.get('features.8.0.weight')).toEqual([1280, 320, 1, 1]);
    expect([...ps.keys()].some((k) => k.startsWith('classifier'))).toBe(false);
  });

  it('depthwise convs: groups equal channels, padding (k-1)/2, stride 2 only in the first block of a downsampling stage', () => {
    const g = get('efficientnet_b0').graph();
    const conv = (key: string) => g.nodes.find((n) => n.op.kind === 'conv' && n.op.key === key)!.op;
    expect(conv('features.3.0.block.1.0')).toMatchObject({
      groups: 144,
      inChannels: 144,
      outChannels: 144,
      kernel: [5, 5],
      pad: [2, 2],
      stride: [2, 2],
      bias: false,
    });
    expect(conv('features.3.1.block.1.0')).toMatchObject({ groups: 240, kernel: [5, 5], pad: [2, 2], stride: [1, 1] });
    expect(conv('features.5.0.block.1.0')).toMatchObject({ stride: [1, 1] });
  });

  it('every point is addressable by name, study index, backbone:index and block alias', () => {
    const b = get('efficientnet_b0');
    expect(b.point('4').name).toBe('stage4');
    expect(b.point('efficientnet_b0:4').name).toBe('stage4');
    expect(b.point('stage4.2').name).toBe('stage4'); // the last block of a stage is the stage
    expect(b.point('stage4.0').studyIndex).toBeUndefined();
    expect(b.point('8').name).toBe('head');
    expect(b.point('head').channels).toBe(1280);
    expect(b.point('stage6.3').name).toBe('stage6');
    expect(
      b
        .points()
        .filter((p) => p.studyIndex !== undefined)
        .map((p) => p.name),
    ).toEqual(['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'stage6', 'stage7', 'head']);
    expect(b.resolvePoints('paper').map((p) => p.name)).toEqual(['stem', 'stage1', 'stage4', 'stage7']);
    expect(b.resolvePoints('stage2.0,efficientnet_b0:7').map((p) => p.name)).toEqual(['stage2.0', 'stage7']);
    expect(get('efficientnet_b7').point('stage6.12').name).toBe('stage6');
    expect(get('efficientnet_b7').point('stage6.11').convsBefore).toBe(get('efficientnet_b7').point('stage6').convsBefore - 5); // expand, depthwise, fc1, fc2, project
  });

  it('an unknown point names the valid ones', () => {
    expect(() => get('efficientnet_b0').point('stage9')).toThrow(/no extraction point 'stage9'[\s\S]*stem, stage1, stage2.0/);
  });

  it('padding everywhere: every point has an output for any input size', () => {
    for (const p of get('efficientnet_b0').points()) expect(p.minInputSize).toBe(1);
  });

  it('metadata: V1 weight files, their SHA-256 prefixes and torchvision top-1 / params', () => {
    const m = get('efficientnet_b7').metadata;
    expect(m.weights).toEqual({
      file: 'efficientnet_b7_lukemelas-dcc49843.pth',
      url: 'https://download.pytorch.org/models/efficientnet_b7_lukemelas-dcc49843.pth',
      sha256Prefix: 'dcc49843',
    });
    expect(m.imagenetTop1).toBeCloseTo(84.122);
    expect(m.paramsMillions).toBeCloseTo(66.35);
    expect(m.batchNorm).toBe(true);
    expect(m.normalization).toBe('imagenet');
    const b0 = get('efficientnet_b0').metadata;
    expect(b0.weights?.file).toBe('efficientnet_b0_rwightman-3dd342df.pth');
    expect(b0.weights?.sha256Prefix).toBe('3dd342df');
    expect(b0.imagenetTop1).toBeCloseTo(77.692);
    expect(b0.paramsMillions).toBeCloseTo(5.29);
    expect(EFFICIENTNET_IDS.filter((id) => get(id).metadata.inStudy)).toEqual(['efficientnet_b0', 'efficientnet_b7']);
    expect(get('efficientnet_b4').metadata.weights?.sha256Prefix).toBe('7eb33cd5');
  });
});
