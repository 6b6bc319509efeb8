import { totalConvs, totalParams, type Graph } from '@dpl/core';
import { REGNET_IDS, regnetBackbones, regnetStages } from '../src/regnet';

const byId = new Map(regnetBackbones().map((b) => [b.id, b]));
const get = (id: string) => byId.get(id)!;
const count = (g: Graph, kind: string) => g.nodes.filter((n) => n.op.kind === kind).length;

describe('RegNet graphs', () => {
  // torchvision 0.14 (/usr/bin/python3), per network: blocks per stage, stage widths (f.c out_channels),
  // groups of the first block's 3x3 conv, SE squeeze widths (0: RegNetX), convs, parameters and
  // state_dict keys (num_batches_tracked aside) without the fc head
  it.each([
    ['regnet_y_400mf', [1, 3, 6, 6], [48, 104, 208, 440], [6, 13, 26, 55], [8, 12, 26, 52], 85, 3903144, 329],
    ['regnet_y_800mf', [1, 3, 8, 2], [64, 144, 320, 784], [4, 9, 20, 49], [8, 16, 36, 80], 75, 5647512, 291],
    ['regnet_y_1_6gf', [2, 6, 17, 2], [48, 120, 336, 888], [2, 5, 14, 37], [8, 12, 30, 84], 140, 10313430, 538],
    ['regnet_y_3_2gf', [2, 5, 13, 1], [72, 216, 576, 1512], [3, 9, 24, 63], [8, 18, 54, 144], 110, 17923338, 424],
    ['regnet_y_8gf', [2, 4, 10, 1], [224, 448, 896, 2016], [4, 8, 16, 36], [8, 56, 112, 224], 90, 37364472, 348],
    ['regnet_y_16gf', [2, 4, 11, 1], [224, 448, 1232, 3024], [2, 4, 11, 27], [8, 56, 112, 308], 95, 80565140, 367],
    ['regnet_y_32gf', [2, 5, 12, 1], [232, 696, 1392, 3712], [1, 3, 6, 16], [8, 58, 174, 348], 105, 141333770, 405],
    ['regnet_y_128gf', [2, 7, 17, 1], [528, 1056, 2904, 7392], [2, 4, 11, 28], [8, 132, 264, 726], 140, 637419894, 538],
    ['regnet_x_400mf', [1, 2, 7, 12], [32, 64, 160, 400], [2, 4, 10, 25], [0, 0, 0, 0], 71, 5094976, 355],
    ['regnet_x_800mf', [1, 3, 7, 5], [64, 128, 288, 672], [4, 8, 18, 42], [0, 0, 0, 0], 53, 6586656, 265],
    ['regnet_x_1_6gf', [2, 4, 10, 2], [72, 168, 408, 912], [3, 7, 17, 38], [0, 0, 0, 0], 59, 8277136, 295],
    ['regnet_x_3_2gf', [2, 6, 15, 2], [96, 192, 432, 1008], [2, 4, 9, 21], [0, 0, 0, 0], 80, 14287552, 400],
    ['regnet_x_8gf', [2, 5, 15, 1], [80, 240, 720, 1920], [1, 2, 6, 16], [0, 0, 0, 0], 74, 37651648, 370],
    ['regnet_x_16gf', [2, 6, 13, 1], [256, 512, 896, 2048], [2, 4, 7, 16], [0, 0, 0, 0], 71, 52229536, 355],
    ['regnet_x_32gf', [2, 7, 13, 1], [336, 672, 1344, 2520], [2, 4, 8, 15], [0, 0, 0, 0], 74, 105290560, 370],
  ])(
    '%s: blocks %j, widths %j, groups %j, SE %j, %d convs, %d parameters, %d keys as torchvision',
    (id, depths, widths, groups, se, convs, params, keys) => {
      const stages = regnetStages(id);
      expect(stages.map((s) => s.depth)).toEqual(depths);
      expect(stages.map((s) => s.width)).toEqual(widths);
      expect(stages.map((s) => s.width / s.groupWidth)).toEqual(groups);
      const b = get(id);
      const g = b.graph();
      const fc1 = new Map(b.expectedParams().map((p) => [p.key, p.shape[0]]));
      expect(depths.map((_, i) => fc1.get(`trunk_output.block${i + 1}.block${i + 1}-0.f.se.fc1.weight`) ?? 0)).toEqual(se);
      expect(totalConvs(g)).toBe(convs);
      expect(totalParams(g)).toBe(params);
      expect(b.expectedParams()).toHaveLength(keys);
      const nBlocks = depths.reduce((a, d) => a + d, 0);
      expect(count(g, 'add')).toBe(nBlocks);
      expect(count(g, 'mul')).toBe(se[0] ? nBlocks : 0);
      // stem + a point per block (a stage's last block is the stage)
      expect(b.points()).toHaveLength(1 + nBlocks);
    },
  );

  it('regnet_y_400mf: points, torchModule names, channels and strides; default points by relative depth', () => {
    const b = get('regnet_y_400mf');
    expect(b.resolvePoints('paper').map((p) => [p.name, p.torchModule, p.channels, p.stride])).toEqual([
      ['stem', 'stem', 32, 2],
      ['stage1', 'trunk_output.block1', 48, 4],
      ['stage3.3', 'trunk_output.block3.block3-3', 208, 16], // 8 of 16 blocks done
      ['stage4', 'trunk_output.block4', 440, 32],
    ]);
    expect(b.point('stage2.0').torchModule).toBe('trunk_output.block2.block2-0');
    expect(b.point('stage4.5').name).toBe('stage4');
    expect(b.points().every((p) => p.description?.startsWith(`${p.torchModule}:`) && p.studyIndex === undefined)).toBe(true);
    // ties go to the earlier block: regnet_x_400mf has 22 blocks, E3 after 11 (1 + 2 + 7 + 1)
    expect(get('regnet_x_400mf').point('E3').name).toBe('stage4.0');
    // a stage end can be E3: regnet_y_800mf, 7 of 14 blocks = 1 + 3 + 3
    expect(get('regnet_y_800mf').point('E3').name).toBe('stage3.2');
    for (const id of REGNET_IDS)
      expect(
        get(id)
          .resolvePoints('paper')
          .map((p) => p.name)[3],
      ).toBe('stage4');
  });

  it('state_dict keys: the shortcut conv only where width or resolution changes, grouped 3x3 convs', () => {
    const ps = new Map(
      get('regnet_y_400mf')
        .expectedParams()
        .map((p) => [p.key, p.shape]),
    );
    expect(ps.get('stem.0.weight')).toEqual([32, 3, 3, 3]);
    expect(ps.get('trunk_output.block1.block1-0.proj.0.weight')).toEqual([48, 32, 1, 1]);
    expect(ps.has('trunk_output.block2.block2-1.proj.0.weight')).toBe(false);
    expect(ps.get('trunk_output.block2.block2-1.f.b.0.weight')).toEqual([104, 8, 3, 3]);
    expect(ps.get('trunk_output.block2.block2-0.f.se.fc1.weight')).toEqual([12, 104, 1, 1]); // round(0.25 * 48)
    expect(ps.get('trunk_output.block2.block2-1.f.se.fc1.weight')).toEqual([26, 104, 1, 1]); // round(0.25 * 104)
    expect(ps.get('trunk_output.block4.block4-5.f.c.1.running_var')).toEqual([440]);
    expect([...ps.keys()].some((k) => k.startsWith('fc.'))).toBe(false);
    const g = get('regnet_x_400mf').graph();
    expect(count(g, 'sigmoid')).toBe(0);
  });

  it('metadata: torchvision DEFAULT weights with SHA-256 prefixes, top-1 and params', () => {
    const m = get('regnet_y_400mf').metadata;
    expect(m.weights).toEqual({
      file: 'regnet_y_400mf-e6988f5f.pth',
      url: 'https://download.pytorch.org/models/regnet_y_400mf-e6988f5f.pth',
      sha256Prefix: 'e6988f5f',
    });
    expect(m.imagenetTop1).toBeCloseTo(75.804);
    expect(m.paramsMillions).toBeCloseTo(4.344144);
    expect(m.inStudy).toBe(false);
    expect(get('regnet_y_128gf').metadata.weights?.file).toBe('regnet_y_128gf_swag-c8ce3e52.pth');
    expect(get('regnet_x_32gf').metadata.weights?.sha256Prefix).toBe('6eb8fdc6');
    expect(REGNET_IDS).toHaveLength(15);
  });
});
