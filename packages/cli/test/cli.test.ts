import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { readNpy } from '@dpl/core';
import { dpl, ROOT, tmpDir } from './helpers';

process.env.DPL_BACKEND = 'wasm';
const TOY = path.join(ROOT, 'test', 'fixtures', 'toy-backbone');

async function writeTestPng(file: string, w: number, h: number) {
  const buf = Buffer.alloc(w * h * 3);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 37 + (i >> 5) * 11) & 255;
  await sharp(buf, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
}

describe('dpl info / list / describe', () => {
  it('info --json reports backend, versions, plugins and the weight cache', async () => {
    const r = await dpl(['info', '--json']);
    expect(r.code).toBe(0);
    const info = r.json<{ backend: string; dpl: string; weightCache: string; plugins: { name: string; error: string | null }[] }>();
    expect(info.backend).toBe('wasm');
    expect(info.dpl).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.plugins.find((p) => p.name === '@dpl/backbone-vgg')?.error).toBeNull();
  });

  it('list backbones shows the VGG family with its paper points', async () => {
    const r = await dpl(['list', 'backbones', '--json']);
    const rows = r.json<{ id: string; paperPoints: string[] }[]>();
    expect(rows.find((x) => x.id === 'vgg16')?.paperPoints).toEqual(['relu1_2', 'relu2_2', 'relu3_3', 'relu5_3']);
    const human = await dpl(['list', 'backbones']);
    expect(human.out).toMatch(/vgg16\s+vgg\s+yes\s+71\.592/);
  });

  it('describe vgg16 --json: paper points with channels, strides and receptive fields', async () => {
    const r = await dpl(['describe', 'vgg16', '--json', '--size', '224', '224']);
    expect(r.code).toBe(0);
    const d = r.json<{
      points: { name: string; paper: boolean; channels: number; stride: number; receptiveField: number; outputShape: number[] }[];
    }>();
    const paper = d.points.filter((p) => p.paper);
    expect(paper.map((p) => [p.name, p.channels, p.stride, p.receptiveField])).toEqual([
      ['relu1_2', 64, 1, 5],
      ['relu2_2', 128, 2, 14],
      ['relu3_3', 256, 4, 40],
      ['relu5_3', 512, 16, 196],
    ]);
    expect(paper[3].outputShape).toEqual([512, 14, 14]);
  });

  it('describe <task>: presets and every setting with its preset values, what it accepts and what it does', async () => {
    const list = await dpl(['list', 'tasks', '--json']);
    const ids = list.json<{ id: string }[]>().map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining(['similarity', 'super-resolution', 'segmentation', 'autoencoder']));
    for (const id of ['similarity', 'super-resolution', 'segmentation', 'autoencoder']) {
      const r = await dpl(['describe', id, '--json']);
      expect(r.code).toBe(0);
      const d = r.json<{
        task: string;
        presets: { name: string }[];
        settings: { key: string; description: string | null; accepts: string | null; presets: Record<string, unknown> }[];
      }>();
      expect(d.task).toBe(id);
      expect(d.presets.map((p) => p.name)).toEqual(expect.arrayContaining(['paper', 'quick']));
      expect(d.settings.length).toBeGreaterThan(10);
      for (const s of d.settings) {
        expect({ key: s.key, described: (s.description ?? '').length > 10, accepts: Boolean(s.accepts) }).toEqual({
          key: s.key,
          described: true,
          accepts: true,
        });
        expect(Object.keys(s.presets)).toEqual(d.presets.map((p) => p.name));
      }
    }
    const human = await dpl(['describe', 'segmentation']);
    expect(human.out).toMatch(/cropSize\s+224 \/ 224 \/ 64\s+an integer multiple of 16 >= 16/);
    expect(human.out).toMatch(/ {2}mu: weight of the perceptual term/);
  });

  it('an unknown backbone is an error listing the valid ones, exit 1, no stack trace', async () => {
    const r = await dpl(['describe', 'vgg17']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: unknown backbone 'vgg17'\n {2}fix: use one of: .*vgg16/);
    expect(r.err).toMatch(/; or a task: .*segmentation/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('a third-party plugin outside packages/ is listed and runs, with no change to core or cli', async () => {
    const list = await dpl(['list', 'backbones', '--plugin', TOY, '--json']);
    expect(list.json<{ id: string }[]>().map((b) => b.id)).toContain('toynet');
    const dir = tmpDir();
    await writeTestPng(path.join(dir, 'in.png'), 20, 18);
    const r = await dpl([
      'features',
      '--plugin',
      TOY,
      '--backbone',
      'toynet',
      '--seed',
      '3',
      '--input',
      path.join(dir, 'in.png'),
      '--points',
      'all',
      '--out',
      path.join(dir, 'out'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const block = readNpy(fs.readFileSync(path.join(dir, 'out', 'block.npy')), 'block');
    expect(block.shape).toEqual([1, 16, 5, 5]);
    expect(r.json<{ randomWeights: boolean }>().randomWeights).toBe(true);
  });
});

describe('dpl features', () => {
  it('writes one float32 NCHW .npy per point and says the weights were random', async () => {
    const dir = tmpDir();
    await writeTestPng(path.join(dir, 'img.png'), 40, 36);
    const r = await dpl([
      'features',
      '--backbone',
      'vgg11',
      '--seed',
      '7',
      '--input',
      path.join(dir, 'img.png'),
      '--points',
      'paper,pool1',
      '--out',
      path.join(dir, 'f'),
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/RANDOM weights \(seed 7\)/);
    const shapes = ['relu1_1', 'relu2_1', 'relu3_2', 'relu5_2', 'pool1'].map(
      (p) => readNpy(fs.readFileSync(path.join(dir, 'f', `${p}.npy`)), p).shape,
    );
    expect(shapes).toEqual([
      [1, 64, 36, 40],
      [1, 128, 18, 20],
      [1, 256, 9, 10],
      [1, 512, 2, 2],
      [1, 64, 18, 20],
    ]);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'f', 'features.json'), 'utf8'));
    expect(meta).toMatchObject({ backbone: 'vgg11', backend: 'wasm', weights: { kind: 'random', seed: 7 }, randomWeights: true });
  });

  it.each([
    [['--input', '/nonexistent/x.png'], /\/nonexistent\/x\.png: does not exist/],
    [['--input', 'CORRUPT'], /CORRUPT.png: is not a readable image/],
    [['--input', 'INT_NPY'], /has dtype <i8[\s\S]*float32/],
    [['--input', 'RANK3_NPY'], /has shape \[3, 8, 8\][\s\S]*NCHW with 3 channels/],
    [['--input', 'SMALL', '--points', 'pool5'], /input 16x16: is smaller than vgg16 needs for point 'pool5' \(32x32\)/],
    [['--input', 'SMALL', '--points', 'relu9_9'], /has no extraction point 'relu9_9'/],
    [['--input', 'SMALL', '--normalize', 'zscore'], /--normalize zscore is not one of imagenet, none/],
    [['--input', 'SMALL', '--weights', '/nonexistent/w.pth'], /\/nonexistent\/w\.pth/],
    [['--input', 'SMALL', '--weights', 'TRUNCATED'], /truncated or not a valid PyTorch checkpoint/],
  ])('bad input %j gives a clear error naming it', async (args, pattern) => {
    const dir = tmpDir();
    const files: Record<string, string> = {
      CORRUPT: path.join(dir, 'CORRUPT.png'),
      INT_NPY: path.join(dir, 'int.npy'),
      RANK3_NPY: path.join(dir, 'rank3.npy'),
      SMALL: path.join(dir, 'small.png'),
      TRUNCATED: path.join(dir, 'trunc.pth'),
    };
    fs.writeFileSync(files.CORRUPT, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]));
    const npyHeader = (descr: string, shape: number[]) => {
      let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
      h = h.padEnd(118 - 1) + '\n';
      return Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, h.length & 255, h.length >> 8]), Buffer.from(h)]);
    };
    fs.writeFileSync(files.INT_NPY, Buffer.concat([npyHeader('<i8', [1, 3, 2, 2]), Buffer.alloc(8 * 12)]));
    fs.writeFileSync(files.RANK3_NPY, Buffer.concat([npyHeader('<f4', [3, 8, 8]), Buffer.alloc(4 * 192)]));
    await writeTestPng(files.SMALL, 16, 16);
    fs.writeFileSync(files.TRUNCATED, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100, 1)]));
    const resolved = args.map((a) => files[a] ?? a);
    const hasWeights = resolved.includes('--weights');
    const r = await dpl([
      'features',
      '--backbone',
      'vgg16',
      ...(hasWeights ? [] : ['--seed', '0']),
      ...(resolved.includes('--points') ? [] : ['--points', 'relu1_2']),
      '--out',
      path.join(dir, 'o'),
      ...resolved,
    ]);
    // a value outside an option's choices is a usage error (2); a bad file is failed work (1)
    expect(r.code).toBe(resolved.includes('--normalize') ? 2 : 1);
    expect(r.err).toMatch(pattern);
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
  });

  it('without weights, a seed or a cached file it says how to get weights', async () => {
    process.env.DPL_HOME = tmpDir('dpl-home-');
    const dir = tmpDir();
    await writeTestPng(path.join(dir, 'a.png'), 32, 32);
    const r = await dpl(['features', '--backbone', 'vgg16', '--input', path.join(dir, 'a.png'), '--out', path.join(dir, 'o')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no weights for vgg16[\s\S]*dpl weights pull vgg16[\s\S]*--seed N/);
    delete process.env.DPL_HOME;
  });
});
