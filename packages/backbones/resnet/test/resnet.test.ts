import { totalConvs, totalParams } from '@dpl/core';
import { RESNET_IDS, resnetBackbones } from '../src/resnet';

const byId = new Map(resnetBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;

describe('ResNet graphs', () => {
  it('family members', () => {
    expect(RESNET_IDS).toEqual([
      'resnet18',
      'resnet34',
      'resnet50',
      'resnet101',
      'resnet152',
      'resnext50_32x4d',
      'resnext101_32x8d',
      'wide_resnet50_2',
      'wide_resnet101_2',
    ]);
    expect(RESNET_IDS.filter((id) => get(id).metadata.inStudy)).toEqual(['resnet18', 'resnet50', 'resnext50_32x4d']);
  });

  it.each([
    ['resnet18', [64, 64, 128, 512], [1, 5, 10, 20], 20],
    ['resnet50', [64, 256, 512, 2048], [1, 11, 24, 53], 53],
    ['resnext50_32x4d', [64, 256, 512, 2048], [1, 11, 24, 53], 53],
  ])('%s paper points: channels %j, convolutions %j of %d (docs/PROTOCOL.md section 2)', (id, channels, convs, total) => {
    const b = get(id);
    const paper = b.points().filter((p) => p.paper);
    expect(paper.map((p) => p.name)).toEqual(['relu', 'layer1', 'layer2', 'layer4']);
    expect(paper.map((p) => p.studyIndex)).toEqual([2, 4, 5, 7]);
    expect(paper.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
    expect(paper.map((p) => p.channels)).toEqual(channels);
    expect(paper.map((p) => p.stride)).toEqual([2, 4, 8, 32]);
    expect(paper.map((p) => p.convsBefore)).toEqual(convs);
    expect(totalConvs(b.graph())).toBe(total);
    expect(paper.map((p) => p.relativeDepth)).toEqual(convs.map((c) => c / total));
  });

  it('resnet18 receptive fields follow from the architecture (435 at layer4, the known figure)', () => {
    // stem 7x7/2 -> 7; maxpool 3/2 -> 11; layer1 four 3x3 at stride 4 -> 43; layer2 -> 99; layer4 -> 435
    expect(
      get('resnet18')
        .resolvePoints('paper')
        .map((p) => p.receptiveField),
    ).toEqual([7, 43, 99, 435]);
  });

  it.each([
    // /usr/bin/python3 (torchvision 0.14): count Conv2d modules of <model>(weights=None)
    ['resnet34', 36],
    ['resnet101', 104],
    ['resnet152', 155],
    ['resnext101_32x8d', 104],
    ['wide_resnet50_2', 53],
    ['wide_resnet101_2', 104],
  ])('%s has %d convolutions, as torchvision', (id, n) => {
    expect(totalConvs(get(id).graph())).toBe(n);
  });

  it('parameter counts equal torchvision without fc', () => {
    // /usr/bin/python3, torchvision 0.14:
    // sum(p.numel() for k, p in <model>(weights=None).named_parameters() if not k.startswith('fc.'))
    const expected: Record<string, number> = {
      resnet18: 11176512,
      resnet34: 21284672,
      resnet50: 23508032,
      resnet101: 42500160,
      resnet152: 58143808,
      resnext50_32x4d: 22979904,
      resnext101_32x8d: 86742336,
      wide_resnet50_2: 66834240,
      wide_resnet101_2: 124837696,
    };
    for (const id of RESNET_IDS) expect([id, totalParams(get(id).graph())]).toEqual([id, expected[id]]);
  });

  it('top-level children are taps with their registration index', () => {
    const b = get('resnet50');
    const children = b.points().filter((p) => p.studyIndex !== undefined);
    expect(children.map((p) => [p.name, p.studyIndex])).toEqual([
      ['conv1', 0],
      ['bn1', 1],
      ['relu', 2],
      ['maxpool', 3],
      ['layer1', 4],
      ['layer2', 5],
      ['layer3', 6],
      ['layer4', 7],
    ]);
    expect(children.map((p) => p.channels)).toEqual([64, 64, 64, 64, 256, 512, 1024, 2048]);
  });

  it('every residual block is a point; a stage is its last block', () => {
    const b = get('resnet18');
    const names = b.points().map((p) => p.name);
    expect(names).toEqual([
      'conv1',
      'bn1',
      'relu',
      'maxpool',
      'layer1.0',
      'layer1.1',
      'layer1',
      'layer2.0',
      'layer2.1',
      'layer2',
      'layer3.0',
      'layer3.1',
      'layer3',
      'layer4.0',
      'layer4.1',
      'layer4',
    ]);
    expect(b.point('layer2.1').node).toBe(b.point('layer2').node);
    expect(b.point('layer2.0').stride).toBe(8);
    expect(b.point('layer2.0').convsBefore).toBe(8); // stem, layer1's 4, conv1+conv2+downsample
    const r152 = get('resnet152');
    expect(r152.points().filter((p) => /^layer\d\.\d+$/.test(p.name))).toHaveLength(3 + 8 + 36 + 3);
    expect(r152.point('layer3.35').node).toBe(r152.point('layer3').node);
    for (const b2 of byId.values()) for (const p of b2.points()) expect(p.description).toBeTruthy();
  });

  it('points are addressable by name, study index and backbone:index', () => {
    const b = get('resnext50_32x4d');
    expect(b.point('5').name).toBe('layer2');
    expect(b.point('resnext50_32x4d:7').name).toBe('layer4');
    expect(b.point('3').name).toBe('maxpool');
    expect(b.resolvePoints('paper').map((p) => p.name)).toEqual(['relu', 'layer1', 'layer2', 'layer4']);
    expect(b.resolvePoints('relu, 6,layer3.5').map((p) => p.name)).toEqual(['relu', 'layer3', 'layer3.5']);
    expect(() => b.point('layer5')).toThrow(/no extraction point 'layer5'[\s\S]*conv1, bn1, relu/);
  });

  it('non-study members have no paper points', () => {
    for (const id of ['resnet34', 'resnet101', 'wide_resnet50_2'])
      expect(
        get(id)
          .points()
          .some((p) => p.paper),
      ).toBe(false);
  });

  it('expected checkpoint keys: torchvision names, bias-free convs, grouped 3x3 in ResNeXt', () => {
    const keys = new Map(
      get('resnext50_32x4d')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    expect(keys.get('conv1.weight')).toEqual([64, 3, 7, 7]);
    expect(keys.has('conv1.bias')).toBe(false);
    expect(keys.get('bn1.running_var')).toEqual([64]);
    // width = planes * 4/64 * 32 = 128 for layer1; 32 groups -> 4 input channels per group
    expect(keys.get('layer1.0.conv2.weight')).toEqual([128, 4, 3, 3]);
    expect(keys.get('layer1.0.conv3.weight')).toEqual([256, 128, 1, 1]);
    expect(keys.get('layer1.0.downsample.0.weight')).toEqual([256, 64, 1, 1]);
    expect(keys.get('layer4.2.bn3.weight')).toEqual([2048]);
    expect(keys.has('layer1.1.downsample.0.weight')).toBe(false);
    expect([...keys.keys()].some((k) => k.startsWith('fc.'))).toBe(false);
    const r18 = new Map(
      get('resnet18')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    expect(r18.has('layer1.0.downsample.0.weight')).toBe(false); // 64 -> 64, stride 1: identity
    expect(r18.get('layer2.0.downsample.0.weight')).toEqual([128, 64, 1, 1]);
    const wide = new Map(
      get('wide_resnet50_2')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    expect(wide.get('layer1.0.conv2.weight')).toEqual([128, 128, 3, 3]);
  });

  it('metadata: V1 weight files, top-1 and parameter counts', () => {
    expect(get('resnet50').metadata.weights).toEqual({
      file: 'resnet50-0676ba61.pth',
      url: 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
      sha256Prefix: '0676ba61',
    });
    const table = RESNET_IDS.filter((id) => get(id).metadata.inStudy).map((id) => {
      const m = get(id).metadata;
      return [id, m.imagenetTop1, m.paramsMillions, m.weights!.file, m.batchNorm, m.normalization];
    });
    // docs/PROTOCOL.md section 1
    expect(table).toEqual([
      ['resnet18', 69.758, 11.69, 'resnet18-f37072fd.pth', true, 'imagenet'],
      ['resnet50', 76.13, 25.56, 'resnet50-0676ba61.pth', true, 'imagenet'],
      ['resnext50_32x4d', 77.618, 25.03, 'resnext50_32x4d-7cdf4587.pth', true, 'imagenet'],
    ]);
    // full-model params (fc included) agree with the graph + fc to the stated precision
    for (const id of RESNET_IDS) {
      const m = get(id).metadata;
      const fcIn = get(id).point('layer4').channels;
      expect([id, Math.round((totalParams(get(id).graph()) + fcIn * 1000 + 1000) / 1e4) / 100]).toEqual([id, m.paramsMillions]);
    }
    expect(get('resnet34').metadata.imagenetTop1).toBeCloseTo(73.314);
    expect(get('wide_resnet101_2').metadata.weights!.sha256Prefix).toBe('32ee1156');
  });
});
