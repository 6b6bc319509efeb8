import { totalConvs, totalParams, type StateDict } from '@dpl/core';
import { alexnet } from '../src/alexnet';

const b = alexnet();

/** A state_dict with every key the graph reads, zero-filled, plus `extra` entries. */
function fakeCheckpoint(extra: Record<string, number[]> = {}): StateDict {
  const sd: StateDict = new Map();
  const put = (key: string, shape: number[]) =>
    sd.set(key, { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, c) => a * c, 1)) });
  for (const p of b.expectedParams()) put(p.key, p.shape);
  for (const [k, s] of Object.entries(extra)) put(k, s);
  return sd;
}

describe('AlexNet graph', () => {
  it('paper points: study indices, channels, stride, receptive field, convolutions (docs/PROTOCOL.md section 2)', () => {
    const paper = b.points().filter((p) => p.paper);
    expect(paper.map((p) => p.name)).toEqual(['relu1', 'relu2', 'relu3', 'relu5']);
    expect(paper.map((p) => p.studyIndex)).toEqual([1, 4, 7, 11]);
    expect(paper.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
    expect(paper.map((p) => p.channels)).toEqual([64, 192, 384, 256]);
    expect(paper.map((p) => p.stride)).toEqual([4, 8, 16, 16]);
    // by hand: 11; +2*4 (pool1) +4*8 (conv2 5x5) = 51; +2*8 (pool2) +2*16 (conv3) = 99; +2*16 +2*16 = 163
    expect(paper.map((p) => p.receptiveField)).toEqual([11, 51, 99, 163]);
    expect(paper.map((p) => p.convsBefore)).toEqual([1, 2, 3, 5]);
    expect(totalConvs(b.graph())).toBe(5);
    expect(paper.map((p) => p.relativeDepth)).toEqual([1 / 5, 2 / 5, 3 / 5, 1]);
  });

  it('every child of features is a named point at its module index', () => {
    expect(b.points().map((p) => `${p.studyIndex}:${p.name}`)).toEqual([
      '0:conv1',
      '1:relu1',
      '2:pool1',
      '3:conv2',
      '4:relu2',
      '5:pool2',
      '6:conv3',
      '7:relu3',
      '8:conv4',
      '9:relu4',
      '10:conv5',
      '11:relu5',
      '12:pool5',
    ]);
    expect(b.point('7').name).toBe('relu3');
    expect(b.point('alexnet:11').name).toBe('relu5');
    expect(b.point('pool5').stride).toBe(32);
    expect(b.resolvePoints('paper').map((p) => p.studyIndex)).toEqual([1, 4, 7, 11]);
    expect(b.resolvePoints('conv2,alexnet:12').map((p) => p.name)).toEqual(['conv2', 'pool5']);
    for (const p of b.points()) expect(p.description).toMatch(new RegExp(`^features\\.${p.studyIndex}: `));
  });

  it('an unknown point names the valid ones', () => {
    expect(() => b.point('relu6')).toThrow(/no extraction point 'relu6'[\s\S]*conv1, relu1, pool1/);
  });

  it('minimum input sizes equal torchvision (probed: 7, 15, 31, 31, 63 for relu1/2/3/5 and pool5)', () => {
    // probed with /usr/bin/python3: smallest square input for which features[:i+1] has a non-empty output
    expect(['relu1', 'relu2', 'relu3', 'relu5', 'pool5'].map((n) => b.point(n).minInputSize)).toEqual([7, 15, 31, 31, 63]);
  });

  it('parameter counts equal torchvision', () => {
    // /usr/bin/python3: sum(p.numel() for p in torchvision.models.alexnet().features.parameters()) == 2469696
    expect(totalParams(b.graph())).toBe(2469696);
    expect(b.point('relu3').paramsUpTo).toBe(64 * 3 * 121 + 64 + 192 * 64 * 25 + 192 + 384 * 192 * 9 + 384);
    // whole model (classifier included): 61100840
    expect(b.metadata.paramsMillions).toBeCloseTo(61100840 / 1e6, 2);
  });

  it('reads exactly torchvision features keys and ignores the classifier head', () => {
    expect(b.expectedParams().map((p) => p.key)).toEqual([0, 3, 6, 8, 10].flatMap((i) => [`features.${i}.weight`, `features.${i}.bias`]));
    expect(b.expectedParams().find((p) => p.key === 'features.3.weight')!.shape).toEqual([192, 64, 5, 5]);
    const full = fakeCheckpoint({ 'classifier.1.weight': [4096, 9216], 'classifier.6.bias': [1000] });
    expect(() => b.prepareWeights(full, 'alexnet-owt-7be5be79.pth')).not.toThrow();
    const broken = fakeCheckpoint({ 'fc.weight': [1000, 256] });
    broken.delete('features.10.bias');
    expect(() => b.prepareWeights(broken, 'x.pth')).toThrow(/x\.pth[\s\S]*features\.10\.bias[\s\S]*fc\.weight/);
  });

  it('metadata: the V1 weight file with its SHA-256 prefix', () => {
    expect(b.metadata).toMatchObject({
      imagenetTop1: 56.522,
      batchNorm: false,
      normalization: 'imagenet',
      inStudy: true,
      weights: {
        file: 'alexnet-owt-7be5be79.pth',
        url: 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth',
        sha256Prefix: '7be5be79',
      },
    });
  });
});
