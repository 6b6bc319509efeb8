import { totalConvs, totalParams } from '@dpl/core';
import { vggBackbones } from '../src/vgg';

const byId = new Map(vggBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;

describe('VGG graphs', () => {
  it('vgg16 paper points: channels, stride and receptive field from the architecture', () => {
    const paper = get('vgg16')
      .points()
      .filter((p) => p.paper);
    expect(paper.map((p) => p.name)).toEqual(['relu1_2', 'relu2_2', 'relu3_3', 'relu5_3']);
    expect(paper.map((p) => p.channels)).toEqual([64, 128, 256, 512]);
    expect(paper.map((p) => p.stride)).toEqual([1, 2, 4, 16]);
    expect(paper.map((p) => p.receptiveField)).toEqual([5, 14, 40, 196]);
    expect(paper.map((p) => p.studyIndex)).toEqual([3, 8, 15, 29]);
    expect(paper.map((p) => p.convsBefore)).toEqual([2, 4, 7, 13]);
    expect(paper.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
  });

  it.each([
    ['vgg11', [1, 4, 9, 19], [1, 2, 4, 8], 8],
    ['vgg16', [3, 8, 15, 29], [2, 4, 7, 13], 13],
    ['vgg16_bn', [5, 12, 22, 42], [2, 4, 7, 13], 13],
    ['vgg19', [3, 8, 17, 35], [2, 4, 8, 16], 16],
  ])('%s: study indices %j and convolutions %j of %d (docs/PROTOCOL.md section 2)', (id, indices, convs, total) => {
    const b = get(id);
    const paper = b.points().filter((p) => p.paper);
    expect(paper.map((p) => p.studyIndex)).toEqual(indices);
    expect(paper.map((p) => p.convsBefore)).toEqual(convs);
    expect(totalConvs(b.graph())).toBe(total);
    expect(paper.map((p) => p.relativeDepth)).toEqual(convs.map((c) => c / total));
  });

  it('feature parameter counts equal torchvision (features only, classifier excluded)', () => {
    // torchvision: sum(p.numel() for p in vgg16().features.parameters()) == 14714688
    expect(totalParams(get('vgg16').graph())).toBe(14714688);
    expect(totalParams(get('vgg11').graph())).toBe(9220480);
    expect(totalParams(get('vgg19').graph())).toBe(20024384);
    // BN adds weight+bias per conv channel (running stats are buffers)
    expect(totalParams(get('vgg16_bn').graph())).toBe(14714688 + 2 * (2 * 64 + 2 * 128 + 3 * 256 + 6 * 512));
  });

  it('every point is addressable by name, study index and backbone:index', () => {
    const b = get('vgg16');
    expect(b.point('15').name).toBe('relu3_3');
    expect(b.point('vgg16:15').name).toBe('relu3_3');
    expect(b.point('pool3').studyIndex).toBe(16);
    expect(b.point('conv3_3').studyIndex).toBe(14);
    expect(b.points()).toHaveLength(31);
    expect(b.resolvePoints('paper').map((p) => p.name)).toEqual(['relu1_2', 'relu2_2', 'relu3_3', 'relu5_3']);
    expect(b.resolvePoints('relu1_1,15').map((p) => p.name)).toEqual(['relu1_1', 'relu3_3']);
  });

  it('an unknown point names the valid ones', () => {
    expect(() => get('vgg16').point('relu9_9')).toThrow(/no extraction point 'relu9_9'[\s\S]*conv1_1, relu1_1, conv1_2/);
  });

  it('minimum input size: 32 for the last pool, 16 for relu5_3', () => {
    const b = get('vgg16');
    expect(b.point('pool5').minInputSize).toBe(32);
    expect(b.point('relu5_3').minInputSize).toBe(16);
    expect(b.point('relu1_1').minInputSize).toBe(1);
  });

  it('metadata: V1 weight files with their SHA-256 prefixes', () => {
    const m = get('vgg16').metadata;
    expect(m.weights).toEqual({
      file: 'vgg16-397923af.pth',
      url: 'https://download.pytorch.org/models/vgg16-397923af.pth',
      sha256Prefix: '397923af',
    });
    expect(m.imagenetTop1).toBeCloseTo(71.592);
    expect(get('vgg13').metadata.inStudy).toBe(false);
    expect(get('vgg19').metadata.inStudy).toBe(true);
  });
});
