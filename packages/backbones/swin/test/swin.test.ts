import { totalParams, type Graph, type Op, type StateDict } from '@dpl/core';
import { middleBlock, SWIN_IDS, swinBackbones } from '../src/swin';

const byId = new Map(swinBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;
const ops = <K extends Op['kind']>(g: Graph, kind: K) =>
  g.nodes.flatMap((n) => (n.op.kind === kind ? [n.op as Extract<Op, { kind: K }>] : []));

describe('Swin graphs', () => {
  it.each([
    ['swin_t', ['stem', 'stage1', 'stage3.1', 'stage4'], ['features.0', 'features.1', 'features.5.1', 'features.7'], [96, 96, 384, 768]],
    ['swin_s', ['stem', 'stage1', 'stage3.7', 'stage4'], ['features.0', 'features.1', 'features.5.7', 'features.7'], [96, 96, 384, 768]],
    ['swin_b', ['stem', 'stage1', 'stage3.7', 'stage4'], ['features.0', 'features.1', 'features.5.7', 'features.7'], [128, 128, 512, 1024]],
  ])('%s default points %j: torchvision modules %j, channels %j, strides 4, 4, 16, 32', (id, names, modules, channels) => {
    const b = get(id);
    const pts = b.resolvePoints('paper');
    expect(pts.map((p) => p.name)).toEqual(names);
    expect(pts.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
    expect(pts.map((p) => p.torchModule)).toEqual(modules);
    expect(pts.map((p) => p.channels)).toEqual(channels);
    expect(pts.map((p) => p.stride)).toEqual([4, 4, 16, 32]);
    expect(pts.every((p) => p.studyIndex === undefined)).toBe(true);
    expect(b.metadata.inStudy).toBe(false);
  });

  it('the middle point is the block boundary nearest half the blocks, ties to the earlier', () => {
    // swin_t: 6 of 12 blocks done after stage3.1; swin_s/b: 12 of 24 after stage3.7
    expect(middleBlock([2, 2, 6, 2])).toBe('stage3.1');
    expect(middleBlock([2, 2, 18, 2])).toBe('stage3.7');
    // 3 blocks: 1/3 and 2/3 are equally near, the earlier wins; a stage's last block is the stage
    expect(middleBlock([1, 1, 1])).toBe('stage1');
    expect(middleBlock([2, 2])).toBe('stage1');
  });

  // /usr/bin/python3, torchvision 0.14: m = swin_x(); sd = m.state_dict();
  // len([k for k in sd if not k.startswith('head') and 'relative_position_index' not in k]),
  // sum(p.numel() for n, p in m.named_parameters() if not n.startswith('head'))
  it.each([
    ['swin_t', [2, 2, 6, 2], 171, 27519354],
    ['swin_s', [2, 2, 18, 2], 327, 48837258],
    ['swin_b', [2, 2, 18, 2], 327, 86743224],
  ])('%s: blocks %j, %d state_dict keys and %d parameters as torchvision (head left out)', (id, depths, keys, params) => {
    const b = get(id);
    const g = b.graph();
    expect(b.expectedParams()).toHaveLength(keys);
    expect(totalParams(g)).toBe(params);
    const total = depths.reduce((a, c) => a + c, 0);
    expect(ops(g, 'attention')).toHaveLength(total);
    expect(ops(g, 'patchMerge')).toHaveLength(3);
    // every block boundary is a point, plus stem, three mergings and the final norm
    expect(b.points()).toHaveLength(total + 5);
  });

  it('parameter keys and shapes are torchvision state_dict keys', () => {
    const ps = new Map(
      get('swin_t')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    expect(ps.get('features.0.0.weight')).toEqual([96, 3, 4, 4]);
    expect(ps.get('features.0.0.bias')).toEqual([96]);
    expect(ps.get('features.0.2.weight')).toEqual([96]);
    expect(ps.get('features.1.0.norm1.bias')).toEqual([96]);
    expect(ps.get('features.1.0.attn.relative_position_bias_table')).toEqual([169, 3]);
    expect(ps.get('features.1.0.attn.qkv.weight')).toEqual([288, 96]);
    expect(ps.get('features.1.0.attn.qkv.bias')).toEqual([288]);
    expect(ps.get('features.1.0.attn.proj.weight')).toEqual([96, 96]);
    expect(ps.get('features.1.0.mlp.0.weight')).toEqual([384, 96]);
    expect(ps.get('features.1.0.mlp.0.bias')).toEqual([384]);
    expect(ps.get('features.1.0.mlp.3.weight')).toEqual([96, 384]);
    expect(ps.get('features.2.norm.weight')).toEqual([384]);
    expect(ps.get('features.2.reduction.weight')).toEqual([192, 384]);
    expect(ps.has('features.2.reduction.bias')).toBe(false);
    expect(ps.get('features.5.5.attn.relative_position_bias_table')).toEqual([169, 12]);
    expect(ps.get('features.6.reduction.weight')).toEqual([768, 1536]);
    expect(ps.get('features.7.1.mlp.3.weight')).toEqual([768, 3072]);
    expect(ps.get('norm.weight')).toEqual([768]);
    expect([...ps.keys()].some((k) => k.startsWith('head') || k.endsWith('relative_position_index'))).toBe(false);
  });

  it('a torchvision state_dict binds: its relative_position_index buffers and head are not unexpected, a missing key is named', () => {
    const b = get('swin_t');
    const sd: StateDict = new Map();
    const put = (key: string, shape: number[], dtype: 'float32' | 'int64' = 'float32') =>
      sd.set(key, { dtype, shape, data: new Float32Array(shape.reduce((a, c) => a * c, 1)) });
    for (const p of b.expectedParams()) put(p.key, p.shape);
    // as torchvision's state_dict has them: one index buffer per block (49 x 49 offsets), the classifier
    for (const [s, depth] of [
      [1, 2],
      [3, 2],
      [5, 6],
      [7, 2],
    ])
      for (let i = 0; i < depth; i++) put(`features.${s}.${i}.attn.relative_position_index`, [2401], 'int64');
    put('head.weight', [1000, 768]);
    put('head.bias', [1000]);
    expect(() => b.prepareWeights(sd, 'swin_t.pth')).not.toThrow();
    sd.delete('features.5.3.attn.proj.weight');
    put('features.3.1.attn.relative_position_index', [169], 'int64');
    put('features.9.0.attn.relative_position_index', [2401], 'int64');
    expect(() => b.prepareWeights(sd, 'swin_t.pth')).toThrow(
      /features\.5\.3\.attn\.proj\.weight[\s\S]*features\.3\.1\.attn\.relative_position_index: file has \[169\], swin_t needs \[2401\][\s\S]*features\.9\.0\.attn\.relative_position_index/,
    );
  });

  it('attention: window 7, shift 0 in even blocks and 3 in odd ones, heads per stage, relative position bias', () => {
    const att = ops(get('swin_b').graph(), 'attention');
    const stage3 = att.filter((a) => a.key.startsWith('features.5.'));
    expect(stage3).toHaveLength(18);
    stage3.forEach((a, b) => {
      expect(a).toMatchObject({
        key: `features.5.${b}.attn`,
        channels: 512,
        heads: 16,
        params: 'qkv',
        window: [7, 7],
        relativePositionBias: true,
      });
      expect(a.shift).toEqual(b % 2 ? [3, 3] : [0, 0]);
    });
    expect(att.map((a) => a.heads)).toEqual([4, 4, 8, 8, ...new Array<number>(18).fill(16), 32, 32]);
  });

  it.each([
    ['swin_t', 0.2, 12],
    ['swin_s', 0.3, 24],
    ['swin_b', 0.5, 24],
  ])('%s: both residual sums of block j carry stochastic depth %d * j / (%d - 1) (torchvision)', (id, p, n) => {
    // [m.p for m in swin_x().modules() if type(m).__name__ == 'StochasticDepth'], one per block, used twice
    const drops = ops(get(id).graph(), 'add').map((a) => a.dropPath ?? 0);
    expect(drops).toHaveLength(2 * n);
    drops.forEach((d, i) => expect(d).toBeCloseTo((p * Math.floor(i / 2)) / (n - 1), 12));
  });

  it('GELU between the MLP linears, LayerNorm eps 1e-5 everywhere', () => {
    const g = get('swin_t').graph();
    expect(g.nodes.filter((n) => n.op.kind === 'gelu')).toHaveLength(12);
    expect(new Set(ops(g, 'layerNorm').map((o) => o.eps))).toEqual(new Set([1e-5]));
    // stem norm, 2 per block, 1 per merging, the final norm
    expect(ops(g, 'layerNorm')).toHaveLength(1 + 24 + 3 + 1);
  });

  it('every point is addressable by name and block alias; the merges and the final norm are points', () => {
    const b = get('swin_s');
    expect(b.point('stage3.17').name).toBe('stage3');
    expect(b.point('stage3').torchModule).toBe('features.5');
    expect(b.point('stage3.4').torchModule).toBe('features.5.4');
    expect(b.point('merge1')).toMatchObject({ torchModule: 'features.2', channels: 192, stride: 8 });
    expect(b.point('merge3')).toMatchObject({ torchModule: 'features.6', channels: 768, stride: 32 });
    expect(b.point('norm')).toMatchObject({ torchModule: 'norm', channels: 768, stride: 32 });
    expect(b.points().map((p) => p.name)).toEqual([
      'stem',
      'stage1.0',
      'stage1',
      'merge1',
      'stage2.0',
      'stage2',
      'merge2',
      ...Array.from({ length: 17 }, (_, i) => `stage3.${i}`),
      'stage3',
      'merge3',
      'stage4.0',
      'stage4',
      'norm',
    ]);
    expect(() => b.point('stage5')).toThrow(/no extraction point 'stage5'/);
  });

  it('any input of at least 4x4 pixels (one patch) reaches every point, as in torchvision; smaller is a clear error', () => {
    const b = get('swin_t');
    expect(new Set(b.points().map((p) => p.minInputSize))).toEqual(new Set([4]));
    expect(() => b.checkInputSize(3, 9, b.resolvePoints('paper'))).toThrow(
      /input 3x9: is smaller than swin_t needs for point 'stem' \(4x4\)/,
    );
    expect(() => b.checkInputSize(4, 5, b.resolvePoints('paper'))).not.toThrow();
  });

  it('metadata: torchvision IMAGENET1K_V1 files, SHA-256 prefixes, top-1 and params; LayerNorm only', () => {
    const m = get('swin_t').metadata;
    expect(m.weights).toEqual({
      file: 'swin_t-704ceda3.pth',
      url: 'https://download.pytorch.org/models/swin_t-704ceda3.pth',
      sha256Prefix: '704ceda3',
    });
    expect(m.imagenetTop1).toBeCloseTo(81.474);
    expect(m.paramsMillions).toBeCloseTo(28.29);
    expect(m.batchNorm).toBe(false);
    expect(m.normalization).toBe('imagenet');
    expect(get('swin_s').metadata).toMatchObject({ imagenetTop1: 83.196, paramsMillions: 49.61, weights: { sha256Prefix: '5e29d889' } });
    expect(get('swin_b').metadata).toMatchObject({ imagenetTop1: 83.582, paramsMillions: 87.77, weights: { sha256Prefix: '68c6b09e' } });
    expect(SWIN_IDS).toEqual(['swin_t', 'swin_s', 'swin_b']);
  });
});
