import { checkStateDict, totalConvs, totalParams, type StateDict } from '@dpl/core';
import { densenetBackbones, densenetLegacyKey } from '../src/densenet';

const byId = new Map(densenetBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;

describe('DenseNet graphs', () => {
  it('densenet121 paper points: names, indices, channels, strides, depth (docs/PROTOCOL.md section 2)', () => {
    const b = get('densenet121');
    const paper = b.points().filter((p) => p.paper);
    expect(paper.map((p) => p.name)).toEqual(['relu0', 'denseblock1', 'denseblock2', 'denseblock4']);
    expect(paper.map((p) => p.studyIndex)).toEqual([2, 4, 6, 10]);
    expect(paper.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
    expect(paper.map((p) => p.channels)).toEqual([64, 256, 512, 1024]);
    expect(paper.map((p) => p.stride)).toEqual([2, 4, 8, 32]);
    expect(paper.map((p) => p.convsBefore)).toEqual([1, 13, 38, 120]);
    expect(totalConvs(b.graph())).toBe(120);
    expect(paper.map((p) => p.relativeDepth)).toEqual([1, 13, 38, 120].map((c) => c / 120));
    // receptive fields by hand: conv0 7 (jump 2), pool0 +2*2 = 11 (jump 4); each dense layer adds
    // one 3x3 conv (+2 jumps): block1 11+6*2*4 = 59; transition1 pool +4 = 63 (jump 8);
    // block2 63+12*2*8 = 255; then +8, +24*2*16, +16 (jump 32), +16*2*32 = 2071 for block4
    expect(paper.map((p) => p.receptiveField)).toEqual([7, 59, 255, 2071]);
  });

  it('the 12 children of features carry study indices 0..11 in torchvision order', () => {
    const studied = get('densenet121')
      .points()
      .filter((p) => p.studyIndex !== undefined);
    expect(studied.map((p) => p.name)).toEqual([
      'conv0',
      'norm0',
      'relu0',
      'pool0',
      'denseblock1',
      'transition1',
      'denseblock2',
      'transition2',
      'denseblock3',
      'transition3',
      'denseblock4',
      'norm5',
    ]);
    expect(studied.map((p) => p.studyIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // norm5 ends the graph: torchvision's forward adds a ReLU outside features, which is not ours
    const g = get('densenet121').graph();
    expect(g.output).toBe(studied[11].node);
    expect(g.nodes[g.output].op.kind).toBe('batchNorm');
  });

  it.each([
    // id, convs, block output channels, transition output channels (num_features // 2 each time)
    ['densenet121', 120, [256, 512, 1024, 1024], [128, 256, 512]],
    ['densenet161', 160, [384, 768, 2112, 2208], [192, 384, 1056]],
    ['densenet169', 168, [256, 512, 1280, 1664], [128, 256, 640]],
    ['densenet201', 200, [256, 512, 1792, 1920], [128, 256, 896]],
  ])('%s: %d convolutions, block channels %j, transition channels %j', (id, convs, blocks, transitions) => {
    const b = get(id as string);
    // torchvision: sum(isinstance(m, nn.Conv2d) for m in model.modules()) (the classifier is Linear)
    expect(totalConvs(b.graph())).toBe(convs);
    expect([1, 2, 3, 4].map((k) => b.point(`denseblock${k}`).channels)).toEqual(blocks);
    expect([1, 2, 3].map((k) => b.point(`transition${k}`).channels)).toEqual(transitions);
    expect(b.point('norm5').channels).toBe((blocks as number[])[3]);
    expect([1, 2, 3, 4].map((k) => b.point(`denseblock${k}`).stride)).toEqual([4, 8, 16, 32]);
  });

  it('feature parameter counts equal torchvision (features only, classifier excluded)', () => {
    // torchvision 0.14: sum(p.numel() for p in densenetN(weights=None).features.parameters())
    expect(totalParams(get('densenet121').graph())).toBe(6953856);
    expect(totalParams(get('densenet161').graph())).toBe(26472000);
    expect(totalParams(get('densenet169').graph())).toBe(12484480);
    expect(totalParams(get('densenet201').graph())).toBe(18092928);
  });

  it('every dense layer boundary is a point; the last layer of a block aliases the block', () => {
    const b = get('densenet121');
    const inner = b.points().filter((p) => /^denseblock\d\.denselayer\d+$/.test(p.name));
    expect(inner).toHaveLength(5 + 11 + 23 + 15);
    expect(b.point('denseblock1.denselayer1').channels).toBe(64 + 32);
    expect(b.point('denseblock2.denselayer5').channels).toBe(128 + 5 * 32);
    expect(b.point('denseblock3.denselayer23').channels).toBe(256 + 23 * 32);
    expect(b.point('denseblock1.denselayer6').name).toBe('denseblock1');
    expect(b.point('denseblock4.denselayer16').name).toBe('denseblock4');
    expect(() => b.point('denseblock1.denselayer7')).toThrow(/no extraction point 'denseblock1.denselayer7'/);
    // each layer adds one 1x1 and one 3x3 conv
    expect(b.point('denseblock2.denselayer5').convsBefore).toBe(13 + 1 + 2 * 5);
    expect(get('densenet161').point('denseblock3.denselayer2').channels).toBe(384 + 2 * 48);
    // 12 children, 54 inner layer boundaries, relu and conv inside each of 3 transitions
    expect(b.points()).toHaveLength(12 + 54 + 6);
    expect(b.point('transition2.relu').channels).toBe(512);
    expect(b.point('transition2.conv').channels).toBe(256);
    expect(b.point('transition2.conv').stride).toBe(8);
  });

  it('every point is addressable by name, study index and backbone:index', () => {
    const b = get('densenet121');
    expect(b.point('10').name).toBe('denseblock4');
    expect(b.point('densenet121:4').name).toBe('denseblock1');
    expect(b.point('11').name).toBe('norm5');
    expect(b.resolvePoints('paper').map((p) => p.name)).toEqual(['relu0', 'denseblock1', 'denseblock2', 'denseblock4']);
    expect(b.resolvePoints('pool0,denseblock3.denselayer2,9').map((p) => p.name)).toEqual([
      'pool0',
      'denseblock3.denselayer2',
      'transition3',
    ]);
    expect(get('densenet201').point('densenet201:8').name).toBe('denseblock3');
  });

  it('an unknown point names the valid ones', () => {
    expect(() => get('densenet121').point('denseblock5')).toThrow(/no extraction point 'denseblock5'[\s\S]*conv0, norm0, relu0, pool0/);
  });

  it('minimum input sizes follow the stem and the three average pools', () => {
    const b = get('densenet121');
    expect(b.point('relu0').minInputSize).toBe(1);
    // pool0 output >= 2 needs conv0 output >= 3 needs input >= 5
    expect(b.point('transition1').minInputSize).toBe(5);
    // pool0 output >= 8 (three 2x2 pools) needs conv0 output >= 15 needs input >= 29
    expect(b.point('denseblock4').minInputSize).toBe(29);
  });

  it('metadata: torchvision V1 files, accuracy and size; only densenet121 is in the study', () => {
    const m = get('densenet121').metadata;
    expect(m.weights).toEqual({
      file: 'densenet121-a639ec97.pth',
      url: 'https://download.pytorch.org/models/densenet121-a639ec97.pth',
      sha256Prefix: 'a639ec97',
    });
    expect(m.imagenetTop1).toBeCloseTo(74.434);
    expect(m.paramsMillions).toBeCloseTo(7.98);
    expect(m.batchNorm).toBe(true);
    expect(m.inStudy).toBe(true);
    // torchvision 0.14 DenseNetN_Weights.IMAGENET1K_V1: url, meta acc@1 and num_params
    expect(get('densenet161').metadata.weights?.sha256Prefix).toBe('8d451a50');
    expect(get('densenet169').metadata.weights?.file).toBe('densenet169-b2777c0a.pth');
    expect(get('densenet201').metadata.weights?.file).toBe('densenet201-c1103571.pth');
    expect([161, 169, 201].map((n) => get(`densenet${n}`).metadata.imagenetTop1)).toEqual([77.138, 75.6, 76.896]);
    expect([161, 169, 201].map((n) => get(`densenet${n}`).metadata.paramsMillions)).toEqual([28.68, 14.15, 20.01]);
    expect([161, 169, 201].map((n) => get(`densenet${n}`).metadata.inStudy)).toEqual([false, false, false]);
    for (const n of [161, 169, 201])
      expect(
        get(`densenet${n}`)
          .points()
          .some((p) => p.paper),
      ).toBe(false);
  });
});

describe('DenseNet legacy checkpoint keys', () => {
  it.each([
    ['features.denseblock1.denselayer1.norm.1.weight', 'features.denseblock1.denselayer1.norm1.weight'],
    ['features.denseblock1.denselayer1.norm.1.running_var', 'features.denseblock1.denselayer1.norm1.running_var'],
    ['features.denseblock3.denselayer24.conv.2.weight', 'features.denseblock3.denselayer24.conv2.weight'],
    ['features.denseblock4.denselayer16.norm.2.bias', 'features.denseblock4.denselayer16.norm2.bias'],
    ['features.denseblock2.denselayer10.conv.1.weight', 'features.denseblock2.denselayer10.conv1.weight'],
  ])('%s -> %s', (legacy, current) => {
    expect(densenetLegacyKey(legacy)).toBe(current);
  });

  it.each([
    'features.denseblock1.denselayer1.norm1.weight', // already current
    'features.transition1.norm.weight', // transitions never had a digit
    'features.norm5.running_mean',
    'features.conv0.weight',
    'classifier.weight',
    'features.denseblock1.denselayer1.norm.3.weight', // only layers 1 and 2 exist
    'features.denseblock1.denselayer1.norm.1.num_batches_tracked', // not in torchvision's rename either
  ])('%s is left unchanged', (key) => {
    expect(densenetLegacyKey(key)).toBe(key);
  });

  it('a state_dict with legacy names binds only through the rename', () => {
    const b = get('densenet121');
    const rec = (shape: number[]) => ({ dtype: 'float32' as const, shape, data: new Float32Array(shape.reduce((a, c) => a * c, 1)) });
    const legacy: StateDict = new Map(
      b.expectedParams().map((p) => [p.key.replace(/(denselayer\d+\.(?:norm|conv))([12])\./, '$1.$2.'), rec(p.shape)]),
    );
    const renamedCount = [...legacy.keys()].filter((k) => /\.(norm|conv)\.[12]\./.test(k)).length;
    expect(renamedCount).toBe(58 * 10); // 58 layers x (2 BN x 4 tensors + 2 convs)
    const raw = checkStateDict(b.graph(), legacy);
    expect(raw.missing).toHaveLength(580);
    expect(raw.unexpected).toHaveLength(580);
    const prepared = b.prepareWeights(legacy, 'legacy.pth');
    expect(checkStateDict(b.graph(), prepared)).toEqual({ missing: [], unexpected: [], misshaped: [] });
  });
});
