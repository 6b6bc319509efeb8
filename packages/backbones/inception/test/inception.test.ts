import { totalConvs, totalParams, type GraphBackbone } from '@dpl/core';
import { inceptionBackbones, INCEPTION_IDS } from '../src/inception';

const byId = new Map(inceptionBackbones().map((b) => [b.id, b]));
const get = (id: string): GraphBackbone => byId.get(id)!;

describe('Inception family graphs', () => {
  it('the family holds googlenet and inception_v3', () => {
    expect(INCEPTION_IDS).toEqual(['googlenet', 'inception_v3']);
    expect([...byId.keys()]).toEqual(INCEPTION_IDS);
    for (const b of byId.values()) expect(b.family).toBe('inception');
  });

  it.each([
    // id, names, study indices, channels, strides, convolutions before, total (docs/PROTOCOL.md section 2)
    [
      'googlenet',
      ['conv1', 'inception3a', 'inception4a', 'inception5b'],
      [0, 5, 8, 15],
      [64, 256, 512, 1024],
      [2, 8, 16, 32],
      [1, 9, 21, 57],
      57,
    ],
    [
      'inception_v3',
      ['Conv2d_2b_3x3', 'Mixed_5b', 'Mixed_5d', 'Mixed_6e'],
      [2, 7, 9, 14],
      [64, 256, 288, 768],
      [2, 8, 8, 16],
      [3, 12, 26, 70],
      94,
    ],
  ] as const)('%s paper points %j', (id, names, indices, channels, strides, convs, total) => {
    const b = get(id);
    const paper = b.points().filter((p) => p.paper);
    expect(paper.map((p) => p.name)).toEqual(names);
    expect(paper.map((p) => p.studyIndex)).toEqual(indices);
    expect(paper.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
    expect(paper.map((p) => p.channels)).toEqual(channels);
    expect(paper.map((p) => p.stride)).toEqual(strides);
    expect(paper.map((p) => p.convsBefore)).toEqual(convs);
    expect(totalConvs(b.graph())).toBe(total);
    expect(paper.map((p) => p.relativeDepth)).toEqual(convs.map((c) => c / total));
  });

  it('googlenet: one tap per top-level child, in registration order (aux heads, avgpool, fc excluded)', () => {
    // torchvision 0.14: [n for n, _ in googlenet(aux_logits=False).named_children()][:16]
    const children = [
      'conv1',
      'maxpool1',
      'conv2',
      'conv3',
      'maxpool2',
      'inception3a',
      'inception3b',
      'maxpool3',
      'inception4a',
      'inception4b',
      'inception4c',
      'inception4d',
      'inception4e',
      'maxpool4',
      'inception5a',
      'inception5b',
    ];
    const pts = get('googlenet').points();
    expect(pts.map((p) => p.name)).toEqual(children);
    expect(pts.map((p) => p.studyIndex)).toEqual(children.map((_, i) => i));
    expect(pts.map((p) => p.channels)).toEqual([64, 64, 64, 192, 192, 256, 480, 480, 512, 512, 512, 528, 832, 832, 832, 1024]);
    for (const p of pts) expect(p.description).toMatch(new RegExp(`^${p.name} \\(child ${p.studyIndex}\\): `));
  });

  it('inception_v3: one tap per top-level child with AuxLogits skipped, so Mixed_7a is child 15', () => {
    // torchvision 0.14: named_children() up to Mixed_7c, AuxLogits (between Mixed_6e and Mixed_7a) left out
    const children = [
      'Conv2d_1a_3x3',
      'Conv2d_2a_3x3',
      'Conv2d_2b_3x3',
      'maxpool1',
      'Conv2d_3b_1x1',
      'Conv2d_4a_3x3',
      'maxpool2',
      'Mixed_5b',
      'Mixed_5c',
      'Mixed_5d',
      'Mixed_6a',
      'Mixed_6b',
      'Mixed_6c',
      'Mixed_6d',
      'Mixed_6e',
      'Mixed_7a',
      'Mixed_7b',
      'Mixed_7c',
    ];
    const b = get('inception_v3');
    const pts = b.points();
    expect(pts.map((p) => p.name)).toEqual(children);
    expect(pts.map((p) => p.studyIndex)).toEqual(children.map((_, i) => i));
    expect(pts.map((p) => p.channels)).toEqual([32, 32, 64, 64, 80, 192, 192, 256, 288, 288, 768, 768, 768, 768, 768, 1280, 2048, 2048]);
    expect(pts.map((p) => p.stride)).toEqual([2, 2, 2, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 16, 32, 32, 32]);
    expect(b.point('Mixed_7c').convsBefore).toBe(94);
  });

  it('parameter counts equal torchvision (feature layers: fc and aux heads excluded)', () => {
    // /usr/bin/python3, torchvision 0.14: sum(p.numel() for n, p in m.named_parameters() if not n.startswith('fc.'))
    // with m = googlenet(aux_logits=False) -> 5599904, inception_v3(aux_logits=False) -> 21785568
    expect(totalParams(get('googlenet').graph())).toBe(5599904);
    expect(totalParams(get('inception_v3').graph())).toBe(21785568);
  });

  it('every BasicConv2d is a bias-free conv followed by BatchNorm with eps 0.001', () => {
    for (const b of byId.values()) {
      const nodes = b.graph().nodes;
      const convs = nodes.filter((n) => n.op.kind === 'conv');
      const bns = nodes.filter((n) => n.op.kind === 'batchNorm');
      expect(bns).toHaveLength(convs.length);
      for (const n of convs) if (n.op.kind === 'conv') expect(n.op.bias).toBe(false);
      for (const n of bns) if (n.op.kind === 'batchNorm') expect(n.op.eps).toBe(0.001);
    }
  });

  it("googlenet's third branch is 1x1 -> 3x3 (torchvision's quirk), its pools use ceil mode", () => {
    const nodes = get('googlenet').graph().nodes;
    const conv = nodes.find((n) => n.op.kind === 'conv' && n.op.key === 'inception4a.branch3.1.conv');
    expect(conv?.op.kind === 'conv' && conv.op.kernel).toEqual([3, 3]);
    const pools = nodes.filter((n) => n.op.kind === 'maxPool');
    expect(pools).toHaveLength(4 + 9); // maxpool1..4 and one per Inception module
    for (const n of pools) if (n.op.kind === 'maxPool') expect(n.op.ceil).toBe(true);
  });

  it('inception_v3: asymmetric 1x7 / 7x1 convs with matching padding, avg pools counting the padding', () => {
    const nodes = get('inception_v3').graph().nodes;
    const conv = (key: string) => {
      const n = nodes.find((m) => m.op.kind === 'conv' && m.op.key === `${key}.conv`);
      return n?.op.kind === 'conv' ? [n.op.kernel, n.op.pad] : undefined;
    };
    expect(conv('Mixed_6b.branch7x7_2')).toEqual([
      [1, 7],
      [0, 3],
    ]);
    expect(conv('Mixed_6b.branch7x7_3')).toEqual([
      [7, 1],
      [3, 0],
    ]);
    expect(conv('Mixed_7b.branch3x3_2a')).toEqual([
      [1, 3],
      [0, 1],
    ]);
    expect(conv('Mixed_7b.branch3x3dbl_3b')).toEqual([
      [3, 1],
      [1, 0],
    ]);
    const avg = nodes.filter((n) => n.op.kind === 'avgPool');
    expect(avg).toHaveLength(3 + 4 + 2); // InceptionA x3, C x4, E x2
    for (const n of avg)
      if (n.op.kind === 'avgPool')
        expect([n.op.kernel, n.op.stride, n.op.pad, n.op.countIncludePad]).toEqual([[3, 3], [1, 1], [1, 1], true]);
  });

  it('every point is addressable by name, study index and backbone:index', () => {
    const v3 = get('inception_v3');
    expect(v3.point('7').name).toBe('Mixed_5b');
    expect(v3.point('inception_v3:15').name).toBe('Mixed_7a');
    expect(v3.point('Mixed_5d').studyIndex).toBe(9);
    expect(v3.resolvePoints('paper').map((p) => p.name)).toEqual(['Conv2d_2b_3x3', 'Mixed_5b', 'Mixed_5d', 'Mixed_6e']);
    expect(v3.resolvePoints('Mixed_7c,2').map((p) => p.name)).toEqual(['Mixed_7c', 'Conv2d_2b_3x3']);
    const g = get('googlenet');
    expect(g.point('googlenet:15').name).toBe('inception5b');
    expect(g.point('13').name).toBe('maxpool4');
    expect(g.resolvePoints('all')).toHaveLength(16);
  });

  it('an unknown point names the valid ones', () => {
    expect(() => get('inception_v3').point('Mixed_9z')).toThrow(/no extraction point 'Mixed_9z'[\s\S]*Conv2d_1a_3x3, Conv2d_2a_3x3/);
    expect(() => get('googlenet').point('16')).toThrow(/inception5b/);
  });

  it("inception_v3's minimum input is 75x75 for Mixed_7a onwards (torchvision's documented min_size)", () => {
    const b = get('inception_v3');
    expect(b.point('Mixed_7a').minInputSize).toBe(75);
    expect(b.point('Mixed_7c').minInputSize).toBe(75);
    expect(b.point('Mixed_6e').minInputSize).toBeLessThan(75);
    expect(() => b.checkInputSize(74, 80, [b.point('Mixed_7c')])).toThrow(/74x80[\s\S]*Mixed_7c[\s\S]*75x75/);
    expect(() => b.checkInputSize(75, 75, [b.point('Mixed_7c')])).not.toThrow();
  });

  it("googlenet's minimum input is 15x15 (torchvision's documented min_size)", () => {
    // ceil-mode pools give one (overhanging) window on inputs up to stride-1 smaller than the
    // kernel, so maxpool3 turns 2x2 into 1x1 at 15 px; at 14 px it gets 1x1 and has no output.
    const b = get('googlenet');
    expect(b.point('inception5b').minInputSize).toBe(15);
    expect(() => b.checkInputSize(14, 64, [b.point('inception5b')])).toThrow(/14x64[\s\S]*inception5b/);
  });

  it('metadata: V1 weight files, top-1, sizes', () => {
    const g = get('googlenet').metadata;
    expect(g.weights).toEqual({
      file: 'googlenet-1378be20.pth',
      url: 'https://download.pytorch.org/models/googlenet-1378be20.pth',
      sha256Prefix: '1378be20',
    });
    expect(g.imagenetTop1).toBeCloseTo(69.778);
    expect(g.paramsMillions).toBeCloseTo(6.62); // torchvision num_params 6624904
    const v = get('inception_v3').metadata;
    expect(v.weights).toEqual({
      file: 'inception_v3_google-0cc3c7bd.pth',
      url: 'https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth',
      sha256Prefix: '0cc3c7bd',
    });
    expect(v.imagenetTop1).toBeCloseTo(77.294);
    // docs/PROTOCOL.md: 23.83M = this graph + the fc classifier (2048 x 1000 + 1000), no AuxLogits head
    expect(v.paramsMillions).toBeCloseTo((totalParams(get('inception_v3').graph()) + 2048 * 1000 + 1000) / 1e6, 2);
    for (const m of [g, v]) {
      expect(m.inStudy).toBe(true);
      expect(m.batchNorm).toBe(true);
      expect(m.normalization).toBe('imagenet');
    }
  });
});
