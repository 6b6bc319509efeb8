import { poolOut, spatialShapes, totalConvs, totalParams, type StateDict } from '@dpl/core';
import { squeezenetBackbones } from '../src/squeezenet';

const byId = new Map(squeezenetBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;

function fakeCheckpoint(id: string, extra: Record<string, number[]> = {}): StateDict {
  const sd: StateDict = new Map();
  const put = (key: string, shape: number[]) =>
    sd.set(key, { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, c) => a * c, 1)) });
  for (const p of get(id).expectedParams()) put(p.key, p.shape);
  for (const [k, s] of Object.entries(extra)) put(k, s);
  return sd;
}

describe('SqueezeNet graphs', () => {
  it('squeezenet1_1 paper points: study indices, channels, stride, receptive field, convolutions (docs/PROTOCOL.md section 2)', () => {
    const b = get('squeezenet1_1');
    const paper = b.points().filter((p) => p.paper);
    expect(paper.map((p) => p.name)).toEqual(['relu1', 'fire2', 'fire5', 'fire9']);
    expect(paper.map((p) => p.studyIndex)).toEqual([1, 3, 7, 12]);
    expect(paper.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
    expect(paper.map((p) => p.channels)).toEqual([64, 128, 256, 512]);
    expect(paper.map((p) => p.stride)).toEqual([2, 4, 8, 16]);
    // by hand: 3; +2*2 (pool1) +2*4 (fire2 3x3) = 15; +8 +2*4 (pool3) +16 +16 = 63; +2*8 (pool5) +4*32 = 207
    expect(paper.map((p) => p.receptiveField)).toEqual([3, 15, 63, 207]);
    expect(paper.map((p) => p.convsBefore)).toEqual([1, 4, 13, 25]);
    // 26 = 1 + 8 Fire modules x 3 + the classifier conv
    expect(totalConvs(b.graph())).toBe(26);
    expect(paper.map((p) => p.relativeDepth)).toEqual([1 / 26, 4 / 26, 13 / 26, 25 / 26]);
  });

  it.each([
    [
      'squeezenet1_1',
      ['conv1', 'relu1', 'pool1', 'fire2', 'fire3', 'pool3', 'fire4', 'fire5', 'pool5', 'fire6', 'fire7', 'fire8', 'fire9'],
    ],
    [
      'squeezenet1_0',
      ['conv1', 'relu1', 'pool1', 'fire2', 'fire3', 'fire4', 'pool4', 'fire5', 'fire6', 'fire7', 'fire8', 'pool8', 'fire9'],
    ],
  ])('%s: every child of features is a point at its module index', (id, names) => {
    const b = get(id);
    const children = b.points().filter((p) => p.studyIndex !== undefined);
    expect(children.map((p) => p.name)).toEqual(names);
    expect(children.map((p) => p.studyIndex)).toEqual(names.map((_, i) => i));
    expect(totalConvs(b.graph())).toBe(26);
    expect(b.point('conv10').convsBefore).toBe(26);
    expect(b.point('relu10').channels).toBe(1000);
  });

  it('Fire modules: inner points, concatenated expand channels', () => {
    const b = get('squeezenet1_1');
    expect(
      b
        .points()
        .filter((p) => p.name.startsWith('fire5'))
        .map((p) => [p.name, p.channels, p.studyIndex]),
    ).toEqual([
      ['fire5.squeeze', 32, undefined],
      ['fire5.expand1x1', 128, undefined],
      ['fire5.expand3x3', 128, undefined],
      ['fire5', 256, 7],
    ]);
    expect(b.point('fire5.expand3x3').receptiveField - b.point('fire5.expand1x1').receptiveField).toBe(2 * 8);
    expect(b.points()).toHaveLength(13 + 8 * 3 + 2);
    expect(b.point('squeezenet1_1:12').name).toBe('fire9');
    expect(b.point('5').name).toBe('pool3');
    expect(b.resolvePoints('paper,conv10').map((p) => p.name)).toEqual(['relu1', 'fire2', 'fire5', 'fire9', 'conv10']);
    expect(() => b.point('fire10')).toThrow(/no extraction point 'fire10'[\s\S]*conv1, relu1, pool1/);
  });

  it('parameter counts equal the whole torchvision model (classifier conv included)', () => {
    // /usr/bin/python3: sum(p.numel() for p in torchvision.models.squeezenet1_1().parameters()) == 1235496
    expect(totalParams(get('squeezenet1_1').graph())).toBe(1235496);
    // ... squeezenet1_0(): 1248424
    expect(totalParams(get('squeezenet1_0').graph())).toBe(1248424);
    // features only: 722496 (1_1); the classifier conv adds 512*1000 + 1000
    expect(get('squeezenet1_1').point('fire9').paramsUpTo).toBe(722496);
  });

  it('reads exactly torchvision keys: 26 convs x (weight, bias), classifier.1 included', () => {
    const keys = get('squeezenet1_1')
      .expectedParams()
      .map((p) => p.key);
    expect(keys).toHaveLength(52); // len(torchvision.models.squeezenet1_1().state_dict()) == 52
    expect(keys.slice(0, 4)).toEqual(['features.0.weight', 'features.0.bias', 'features.3.squeeze.weight', 'features.3.squeeze.bias']);
    expect(keys.slice(-2)).toEqual(['classifier.1.weight', 'classifier.1.bias']);
    const shape = (id: string, k: string) =>
      get(id)
        .expectedParams()
        .find((p) => p.key === k)!.shape;
    expect(shape('squeezenet1_1', 'features.12.expand3x3.weight')).toEqual([256, 64, 3, 3]);
    expect(shape('squeezenet1_0', 'features.0.weight')).toEqual([96, 3, 7, 7]);
    expect(shape('squeezenet1_1', 'classifier.1.weight')).toEqual([1000, 512, 1, 1]);
    expect(() => get('squeezenet1_1').prepareWeights(fakeCheckpoint('squeezenet1_1'), 's.pth')).not.toThrow();
    // nothing is ignored: a checkpoint without the classifier conv, or with a foreign head, is refused
    const noHead = fakeCheckpoint('squeezenet1_1');
    noHead.delete('classifier.1.weight');
    expect(() => get('squeezenet1_1').prepareWeights(noHead, 's.pth')).toThrow(/missing keys[\s\S]*classifier\.1\.weight/);
    expect(() => get('squeezenet1_1').prepareWeights(fakeCheckpoint('squeezenet1_1', { 'fc.weight': [1000, 512] }), 's.pth')).toThrow(
      /unexpected keys[\s\S]*fc\.weight/,
    );
  });

  it('pools use ceil mode (PyTorch sizes at odd inputs)', () => {
    const b = get('squeezenet1_1');
    // 67x75: conv1 -> 33x37, pool1 -> 16x18, pool3 -> 8x9 (ceil), pool5 -> 4x4 (ceil); torchvision gives the same
    const pools = b.graph().taps.filter((t) => t.name.startsWith('pool'));
    expect(pools.map((t) => t.name)).toEqual(['pool1', 'pool3', 'pool5']);
    const shapes = spatialShapes(b.graph(), 67, 75);
    expect(pools.map((t) => shapes[t.node])).toEqual([
      [16, 18],
      [8, 9],
      [4, 4],
    ]); // floor mode: [16, 18], [7, 8], [3, 3]
    for (const n of b.graph().nodes) if (n.op.kind === 'maxPool') expect(n.op.ceil).toBe(true);
  });

  it('minimum input sizes equal torchvision (probed: relu1 3, fire2 5, fire5 9, fire9 17; 1_0: 7, 9, 13, 21)', () => {
    expect(poolOut(2, 3, 2, 0, true)).toBe(1);
    const sizes = (id: string) => ['relu1', 'fire2', 'fire5', 'fire9'].map((n) => get(id).point(n).minInputSize);
    expect(sizes('squeezenet1_1')).toEqual([3, 5, 9, 17]);
    expect(sizes('squeezenet1_0')).toEqual([7, 9, 13, 21]);
  });

  it('metadata: V1 weight files with their SHA-256 prefixes', () => {
    expect(get('squeezenet1_1').metadata).toMatchObject({
      imagenetTop1: 58.178,
      paramsMillions: 1.24,
      batchNorm: false,
      normalization: 'imagenet',
      inStudy: true,
      weights: {
        file: 'squeezenet1_1-b8a52dc0.pth',
        url: 'https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth',
        sha256Prefix: 'b8a52dc0',
      },
    });
    expect(get('squeezenet1_0').metadata).toMatchObject({
      imagenetTop1: 58.092,
      paramsMillions: 1.25,
      inStudy: false,
      weights: { file: 'squeezenet1_0-b66bff10.pth', sha256Prefix: 'b66bff10' },
    });
  });
});
