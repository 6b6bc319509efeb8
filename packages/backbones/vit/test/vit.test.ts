import { checkStateDict, totalParams, type Graph, type StateDict } from '@dpl/core';
import { VIT_IDS, vitBackbones, vitDefaultPoints, vitLegacyKey, vitShape } from '../src/vit';

const byId = new Map(vitBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;
const count = (g: Graph, kind: string) => g.nodes.filter((n) => n.op.kind === kind).length;

describe('ViT graphs', () => {
  // torchvision 0.14, per builder: (patch_size, num_layers, num_heads, hidden_dim, mlp_dim),
  // len([k for k in sd if not k.startswith('heads')]) and the sum of their numel()
  it.each([
    ['vit_b_16', [16, 12, 12, 768, 3072], 150, 85798656],
    ['vit_b_32', [32, 12, 12, 768, 3072], 150, 87455232],
    ['vit_l_16', [16, 24, 16, 1024, 4096], 294, 303301632],
    ['vit_l_32', [32, 24, 16, 1024, 4096], 294, 305510400],
  ])('%s: architecture %j, %d state_dict tensors and %d parameters outside the head, as torchvision', (id, arch, keys, params) => {
    const s = vitShape(id);
    expect([s.patch, s.layers, s.heads, s.hidden, s.mlp]).toEqual(arch);
    expect(s.image).toBe(224);
    const b = get(id);
    const g = b.graph();
    expect(b.expectedParams()).toHaveLength(keys);
    expect(totalParams(g)).toBe(params);
    // one patch conv, one attention and two residual sums per block, two LayerNorms per block + encoder.ln
    expect(count(g, 'conv')).toBe(1);
    expect(count(g, 'attention')).toBe(s.layers);
    expect(count(g, 'add')).toBe(2 * s.layers);
    expect(count(g, 'layerNorm')).toBe(2 * s.layers + 1);
    expect(count(g, 'gelu')).toBe(s.layers);
    // points: stem, embed, every block, norm
    expect(b.points().map((p) => p.name)).toEqual([
      'stem',
      'embed',
      ...Array.from({ length: s.layers }, (_, i) => `block${i + 1}`),
      'norm',
    ]);
  });

  it.each([
    ['vit_b_16', ['stem', 'block3', 'block6', 'block12'], 768, 16],
    ['vit_b_32', ['stem', 'block3', 'block6', 'block12'], 768, 32],
    ['vit_l_16', ['stem', 'block6', 'block12', 'block24'], 1024, 16],
    ['vit_l_32', ['stem', 'block6', 'block12', 'block24'], 1024, 32],
  ])(
    '%s default points %j: the patch map, blocks at relative depth 1/4 and 1/2, the last block; %d channels, stride %d',
    (id, names, channels, patch) => {
      const b = get(id);
      const pts = b.resolvePoints('paper');
      expect(pts.map((p) => p.name)).toEqual(names);
      expect(pts.map((p) => p.paperIndex)).toEqual([1, 2, 3, 4]);
      expect(pts.every((p) => p.studyIndex === undefined)).toBe(true);
      expect(b.metadata.inStudy).toBe(false);
      for (const p of b.points()) {
        expect(p.channels).toBe(channels);
        expect(p.stride).toBe(patch);
        // at least one patch: the patch conv has no padding
        expect(p.minInputSize).toBe(patch);
      }
      expect(b.point('stem').receptiveField).toBe(patch);
    },
  );

  it('vitDefaultPoints: relative depth b / n nearest 1/4 and 1/2, ties to the earlier block', () => {
    expect(vitDefaultPoints(12)).toEqual(['stem', 'block3', 'block6', 'block12']);
    expect(vitDefaultPoints(6)).toEqual(['stem', 'block1', 'block3', 'block6']); // 1.5 -> 1 (tie)
    expect(vitDefaultPoints(10)).toEqual(['stem', 'block2', 'block5', 'block10']); // 2.5 -> 2 (tie)
    expect(vitDefaultPoints(32)).toEqual(['stem', 'block8', 'block16', 'block32']);
  });

  it('relative depth counts learned linear maps (patch conv, attention projections, MLP layers), not convolutions alone', () => {
    // vit_b_16: 1 patch conv + 12 blocks x (2 attention projections + 2 MLP layers) = 49
    const pts = new Map(
      get('vit_b_16')
        .points()
        .map((p) => [p.name, p]),
    );
    expect(pts.get('stem')!.relativeDepth).toBeCloseTo(1 / 49, 12);
    expect(pts.get('block6')!.relativeDepth).toBeCloseTo(25 / 49, 12);
    expect(pts.get('block12')!.relativeDepth).toBeCloseTo(1, 12);
    expect(pts.get('block6')!.convsBefore).toBe(1);
  });

  it('every tap names the torchvision module whose output it equals', () => {
    const b = get('vit_b_16');
    const mods = Object.fromEntries(b.points().map((p) => [p.name, p.torchModule]));
    expect(mods.stem).toBe('conv_proj');
    expect(mods.embed).toBe('encoder.dropout');
    expect(mods.block1).toBe('encoder.layers.encoder_layer_0');
    expect(mods.block12).toBe('encoder.layers.encoder_layer_11');
    expect(mods.norm).toBe('encoder.ln');
    for (const p of b.points()) expect(p.description).toContain(p.torchModule);
  });

  it('token rows become maps: every point after the patch conv is a tokensToMap node of the patch map', () => {
    const b = get('vit_b_16');
    const g = b.graph();
    const stem = b.point('stem').node;
    for (const p of b.points().filter((q) => q.name !== 'stem')) {
      const n = g.nodes[p.node];
      expect(n.op.kind).toBe('tokensToMap');
      expect(n.inputs[1]).toBe(stem);
    }
    expect(g.nodes[stem].op).toMatchObject({ kind: 'conv', key: 'conv_proj', kernel: [16, 16], stride: [16, 16], pad: [0, 0], bias: true });
  });

  it('LayerNorm eps 1e-6, multi-head attention with nn.MultiheadAttention parameters, the trained 14x14 grid', () => {
    for (const id of VIT_IDS) {
      const g = get(id).graph();
      const eps = new Set(g.nodes.flatMap((n) => (n.op.kind === 'layerNorm' ? [n.op.eps] : [])));
      expect([...eps]).toEqual([1e-6]);
      const att = g.nodes.flatMap((n) => (n.op.kind === 'attention' ? [n.op] : []));
      expect(att.every((a) => a.params === 'mha' && a.heads === vitShape(id).heads && a.window === undefined)).toBe(true);
      const pe = g.nodes.find((n) => n.op.kind === 'posEmbed')!.op;
      const grid = 224 / vitShape(id).patch;
      expect(pe).toMatchObject({ param: 'encoder.pos_embedding', grid: [grid, grid] });
    }
  });

  it('parameter keys and shapes are torchvision state_dict keys', () => {
    const ps = new Map(
      get('vit_b_16')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    expect(ps.get('conv_proj.weight')).toEqual([768, 3, 16, 16]);
    expect(ps.get('conv_proj.bias')).toEqual([768]);
    expect(ps.get('class_token')).toEqual([1, 1, 768]);
    expect(ps.get('encoder.pos_embedding')).toEqual([1, 197, 768]);
    const l = 'encoder.layers.encoder_layer_11';
    expect(ps.get(`${l}.ln_1.weight`)).toEqual([768]);
    expect(ps.get(`${l}.self_attention.in_proj_weight`)).toEqual([2304, 768]);
    expect(ps.get(`${l}.self_attention.in_proj_bias`)).toEqual([2304]);
    expect(ps.get(`${l}.self_attention.out_proj.weight`)).toEqual([768, 768]);
    expect(ps.get(`${l}.self_attention.out_proj.bias`)).toEqual([768]);
    expect(ps.get(`${l}.ln_2.bias`)).toEqual([768]);
    expect(ps.get(`${l}.mlp.0.weight`)).toEqual([3072, 768]);
    expect(ps.get(`${l}.mlp.3.weight`)).toEqual([768, 3072]);
    expect(ps.get('encoder.ln.weight')).toEqual([768]);
    expect([...ps.keys()].some((k) => k.startsWith('heads'))).toBe(false);
    const large = new Map(
      get('vit_l_32')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    expect(large.get('encoder.pos_embedding')).toEqual([1, 50, 1024]);
    expect(large.get('conv_proj.weight')).toEqual([1024, 3, 32, 32]);
  });

  it('an unknown point names the valid ones; an unknown network names the family', () => {
    expect(() => get('vit_b_16').point('block13')).toThrow(/no extraction point 'block13'[\s\S]*stem, embed, block1/);
    expect(() => vitShape('vit_h_14')).toThrow(/use one of: vit_b_16, vit_b_32, vit_l_16, vit_l_32/);
  });

  it('metadata: weight files with their SHA-256 prefixes, torchvision top-1 and params, ImageNet normalization, no BatchNorm', () => {
    const want: Record<string, [string, number, number]> = {
      vit_b_16: ['vit_b_16-c867db91.pth', 81.072, 86.57],
      vit_b_32: ['vit_b_32-d86f8d99.pth', 75.912, 88.22],
      vit_l_16: ['vit_l_16-852ce7e3.pth', 79.662, 304.33],
      vit_l_32: ['vit_l_32-c7638314.pth', 76.972, 306.54],
    };
    expect(VIT_IDS).toEqual(Object.keys(want));
    for (const [id, [file, top1, params]] of Object.entries(want)) {
      const m = get(id).metadata;
      expect(m.weights).toEqual({ file, url: `https://download.pytorch.org/models/${file}`, sha256Prefix: file.slice(-12, -4) });
      expect(m.imagenetTop1).toBeCloseTo(top1);
      expect(m.paramsMillions).toBeCloseTo(params);
      expect(m.batchNorm).toBe(false);
      expect(m.normalization).toBe('imagenet');
    }
  });
});

describe('ViT legacy checkpoint keys (MLPBlock before torchvision 0.14)', () => {
  it.each([
    ['encoder.layers.encoder_layer_0.mlp.linear_1.weight', 'encoder.layers.encoder_layer_0.mlp.0.weight'],
    ['encoder.layers.encoder_layer_0.mlp.linear_1.bias', 'encoder.layers.encoder_layer_0.mlp.0.bias'],
    ['encoder.layers.encoder_layer_31.mlp.linear_2.weight', 'encoder.layers.encoder_layer_31.mlp.3.weight'],
    ['encoder.layers.encoder_layer_5.mlp.linear_2.bias', 'encoder.layers.encoder_layer_5.mlp.3.bias'],
  ])('%s -> %s', (legacy, current) => {
    expect(vitLegacyKey(legacy)).toBe(current);
  });

  it.each([
    'encoder.layers.encoder_layer_0.mlp.0.weight',
    'encoder.layers.encoder_layer_0.mlp.linear_3.weight',
    'class_token',
    'heads.head.weight',
  ])('%s is left unchanged', (key) => {
    expect(vitLegacyKey(key)).toBe(key);
  });

  it('a state_dict with legacy names binds only through the rename', () => {
    const b = get('vit_b_16');
    // the binding check reads shapes only: one float per tensor keeps this cheap
    const rec = (shape: number[]) => ({ dtype: 'float32' as const, shape, data: new Float32Array(1) });
    const legacy: StateDict = new Map(
      b
        .expectedParams()
        .map((p) => [p.key.replace(/\.mlp\.([03])\./, (_m, i: string) => `.mlp.linear_${i === '0' ? 1 : 2}.`), rec(p.shape)]),
    );
    legacy.set('heads.head.weight', rec([1000, 768]));
    expect(checkStateDict(b.graph(), legacy).missing).toHaveLength(12 * 4);
    const prepared = b.prepareWeights(legacy, 'legacy.pth');
    expect(checkStateDict(b.graph(), prepared, (k) => k.startsWith('heads.'))).toEqual({ missing: [], unexpected: [], misshaped: [] });
  });

  it('a checkpoint whose positional embedding covers another grid is refused, naming the key', () => {
    const b = get('vit_b_16');
    const rec = (shape: number[]) => ({ dtype: 'float32' as const, shape, data: new Float32Array(1) });
    const sd: StateDict = new Map(b.expectedParams().map((p) => [p.key, rec(p.key === 'encoder.pos_embedding' ? [1, 577, 768] : p.shape)]));
    expect(() => b.prepareWeights(sd, 'vit_b_16_swag-9ac1b537.pth')).toThrow(
      /encoder\.pos_embedding: file has \[1, 577, 768\], vit_b_16 needs \[1, 197, 768\]/,
    );
  });
});
