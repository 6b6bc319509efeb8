import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { LPIPS_POINTS, randomStateDict, readNpy, writeNpy, writeSafetensors, type StateDict } from '@dpl/core';
import { dpl, png, ROOT, tmpDir } from './helpers';

process.env.DPL_BACKEND = 'wasm';
const NET = ['--backbone', 'squeezenet1_1', '--seed', '0'];

interface One {
  distance: number;
  randomWeights: boolean;
  points: string[];
  variant: string;
  weights: { kind: string; seed?: number };
}

describe('dpl similarity', () => {
  let dir: string;
  let a: string;
  let b: string;
  beforeAll(async () => {
    dir = tmpDir('dpl-sim-cli-');
    a = await png(path.join(dir, 'a.png'), 48, 48, 1);
    b = await png(path.join(dir, 'b.png'), 48, 48, 2);
  });

  it('prints the distance of two images and says the weights were random', async () => {
    const r = await dpl(['similarity', a, b, ...NET]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^note: the loss network had RANDOM weights \(seed 0\)/);
    const d = Number(r.out.split('\n')[1]);
    expect(d).toBeGreaterThan(0);
    expect(r.out).toMatch(/squeezenet1_1 @ relu1,fire2,fire5,fire9, baseline, imagenet input, (tfjs-wasm|onnx)\)/);
    // a distance: symmetric, zero on identical images
    const ba = await dpl(['similarity', b, a, ...NET, '--json']);
    expect(ba.json<One>().distance).toBe(d);
    expect(ba.json<One>()).toMatchObject({
      randomWeights: true,
      weights: { kind: 'random', seed: 0 },
      variant: 'baseline',
      points: ['relu1', 'fire2', 'fire5', 'fire9'],
    });
    expect((await dpl(['similarity', a, a, ...NET, '--json'])).json<One>().distance).toBe(0);
  });

  it('lin with all-one channel weights equals the baseline at the same points', async () => {
    const table = LPIPS_POINTS.squeezenet1_1;
    const sd: StateDict = new Map(
      table.points.map((p, i) => [
        `lin${i}.model.1.weight`,
        { dtype: 'float32' as const, shape: [1, table.channels[i], 1, 1], data: new Float32Array(table.channels[i]).fill(1) },
      ]),
    );
    const file = path.join(dir, 'squeeze-ones.safetensors');
    await writeSafetensors(file, sd);
    const lin = (await dpl(['similarity', a, b, ...NET, '--variant', 'lin', '--lin-weights', file, '--json'])).json<One>();
    expect(lin.points).toEqual([...table.points]); // LPIPS' points by default
    const base = (await dpl(['similarity', a, b, ...NET, '--points', table.points.join(','), '--json'])).json<One>();
    expect(Math.abs(lin.distance - base.distance)).toBeLessThanOrEqual(1e-6 * base.distance);
    expect(lin.variant).toBe('lin');
  });

  it('compares same-named images of two folders, with progress, to a CSV', async () => {
    const d0 = path.join(dir, 'd0');
    const d1 = path.join(dir, 'd1');
    fs.mkdirSync(d0);
    fs.mkdirSync(d1);
    for (const [i, n] of ['x.png', 'y.png', 'z.png'].entries()) {
      await png(path.join(d0, n), 40, 40, 10 + i);
      await png(path.join(d1, n), 40, 40, 20 + i);
    }
    fs.writeFileSync(path.join(d0, 'notes.txt'), 'not an image');
    const out = path.join(dir, 'pairs.csv');
    const r = await dpl(['similarity', '--dir0', d0, '--dir1', d1, '--out', out, ...NET]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/similarity: started \(3\)[\s\S]*similarity: done in/);
    expect(r.out).toMatch(/3 pairs, mean distance/);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('name,distance');
    expect(rows.slice(1).map((l) => l.split(',')[0])).toEqual(['x.png', 'y.png', 'z.png']);
    const single = (await dpl(['similarity', path.join(d0, 'y.png'), path.join(d1, 'y.png'), ...NET, '--json'])).json<One>().distance;
    expect(Number(rows[2].split(',')[1])).toBe(single);
  });

  it.each([
    [['similarity', 'missing.png', 'b.png'], /missing\.png: does not exist/],
    [['similarity', 'a.png'], /needs two images/],
    [['similarity', 'a.png', 'b.png', '--size', '0'], /--size 0: must be a positive integer/],
    [['similarity', 'a.png', 'b.png', '--points', 'fire99'], /no extraction point 'fire99'/],
    [['similarity', 'a.png', 'b.png', '--variant', 'lin'], /--variant lin: needs --lin-weights FILE/],
    [['similarity', 'a.png', 'b.png', '--dir0', '.'], /takes two images or --dir0\/--dir1, not both/],
  ])('%j fails with a clear message, exit 1', async (args, pattern) => {
    // relative names are resolved from the working directory: dir's files
    const r = await dpl([...args.map((x) => (x.endsWith('.png') ? path.join(dir, x) : x)), ...NET]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(pattern);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['similarity', 'a.png', 'b.png', '--variant', 'fancy'], /Invalid values:[\s\S]*variant[\s\S]*"baseline", "lin"/],
    [['similarity', 'a.png', 'b.png', '--lpips', '--net', 'resnet'], /Invalid values:[\s\S]*net[\s\S]*"alex", "vgg", "squeeze"/],
    [['similarity', 'a.png', 'b.png', '--bogus-flag'], /unknown (option|arguments?):? (--)?bogus-flag/i],
  ])('%j is a usage error, exit 2, before any work', async (args, pattern) => {
    const r = await dpl([...args.map((x) => (x.endsWith('.png') ? path.join(dir, x) : x)), ...NET]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(pattern);
    expect(r.out).toBe('');
  });

  it('names images of different sizes (and --size resizes them) and values outside [0,1]', async () => {
    const small = await png(path.join(dir, 'small.png'), 40, 44, 3);
    const r = await dpl(['similarity', a, small, ...NET]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/a\.png and .*small\.png: have different sizes \(48x48 and 40x44\)[\s\S]*--size N/);
    const resized = await dpl(['similarity', a, small, ...NET, '--size', '48']);
    expect(resized.err).not.toMatch(/error/);
    expect(resized.code).toBe(0);
    const big = path.join(dir, 'big.npy');
    fs.writeFileSync(big, writeNpy([1, 3, 48, 48], new Float32Array(3 * 48 * 48).fill(200)));
    const bad = await dpl(['similarity', a, big, ...NET]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/big\.npy: images: have values in \[200, 200\], outside the declared range \[0,1\]/);
  });

  it('names the images of two folders that do not pair up', async () => {
    const e0 = path.join(dir, 'e0');
    const e1 = path.join(dir, 'e1');
    fs.mkdirSync(e0);
    fs.mkdirSync(e1);
    await png(path.join(e0, 'same.png'), 40, 40, 1);
    await png(path.join(e1, 'same.png'), 40, 40, 2);
    await png(path.join(e0, 'left.png'), 40, 40, 3);
    await png(path.join(e1, 'right.png'), 40, 40, 4);
    const r = await dpl(['similarity', '--dir0', e0, '--dir1', e1, ...NET]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/do not hold the same image names \(only in .*e0: left\.png; only in .*e1: right\.png\)/);
  });
});

/** RFC 4180 fields (quoted fields may hold commas, quotes as "" and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') {
      endField();
      rows.push(row);
      row = [];
    } else if (c !== '\r') field += c;
  }
  if (field || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}

describe('dpl similarity: folders, CSV, JSON, maps, provenance', () => {
  let dir: string;
  let d0: string;
  let d1: string;
  const NAMES = ['a,b.png', 'q"uote.png', 'plain.png'];
  beforeAll(async () => {
    dir = tmpDir('dpl-sim-out-');
    d0 = path.join(dir, 'd0');
    d1 = path.join(dir, 'd1');
    fs.mkdirSync(d0);
    fs.mkdirSync(d1);
    for (const [i, n] of NAMES.entries()) {
      await png(path.join(d0, n), 36, 36, 30 + i);
      await png(path.join(d1, n), 36, 36, 40 + i);
    }
  });

  it('--json with folders prints one JSON document on stdout (progress on stderr); the CSV quotes odd names and parses back', async () => {
    const out = path.join(dir, 'pairs.csv');
    const r = await dpl(['similarity', '--dir0', d0, '--dir1', d1, '--out', out, '--batch', '2', ...NET, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { pairs: { name: string; distance: number }[]; mean: number; std: number; weights: { kind: string } };
    expect(r.err).toMatch(/similarity: started \(3\)/);
    expect(doc.pairs.map((p) => p.name)).toEqual([...NAMES].sort());
    const ds = doc.pairs.map((p) => p.distance);
    const mean = ds.reduce((s, d) => s + d, 0) / ds.length;
    expect(doc.mean).toBeCloseTo(mean, 12);
    expect(doc.std).toBeCloseTo(Math.sqrt(ds.reduce((s, d) => s + (d - mean) ** 2, 0) / ds.length), 12);
    expect(doc.weights).toEqual({ kind: 'random', seed: 0 });
    const rows = parseCsv(fs.readFileSync(out, 'utf8'));
    expect(rows[0]).toEqual(['name', 'distance']);
    expect(rows.slice(1)).toEqual(doc.pairs.map((p) => [p.name, String(p.distance)]));
    // batching does not change a pair's distance
    const one = (await dpl(['similarity', path.join(d0, 'q"uote.png'), path.join(d1, 'q"uote.png'), ...NET, '--json'])).json<One>();
    expect(Math.abs(one.distance - doc.pairs.find((p) => p.name === 'q"uote.png')!.distance)).toBeLessThanOrEqual(1e-6 * one.distance);
  });

  it('the text summary gives mean and standard deviation', async () => {
    const r = await dpl(['similarity', '--dir0', d0, '--dir1', d1, ...NET]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/3 pairs, mean distance [\d.e-]+, standard deviation [\d.e-]+/);
    expect(r.out).not.toMatch(/similarity: started/);
  });

  it('--map writes the distance map as .npy [1, 1, H, W] and as a PNG heatmap with its scale', async () => {
    const a = path.join(d0, 'plain.png');
    const b = path.join(d1, 'plain.png');
    const npyMap = path.join(dir, 'map.npy');
    const r = await dpl(['similarity', a, b, ...NET, '--map', npyMap, '--json']);
    expect(r.code).toBe(0);
    const m = readNpy(fs.readFileSync(npyMap), npyMap);
    expect(m.shape).toEqual([1, 1, 36, 36]);
    expect(Math.min(...m.data)).toBeGreaterThanOrEqual(0);
    expect(r.json<{ map: { max: number } }>().map.max).toBeCloseTo(Math.max(...m.data), 6);
    const pngMap = path.join(dir, 'map.png');
    const p = await dpl(['similarity', a, b, ...NET, '--map', pngMap, '--map-overlay']);
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/map 36x36 written to .*map\.png \(scale 0 to /);
    const meta = await sharp(pngMap).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 36 + 80, 64]);
  });

  it('an infinite distance is an error naming the pair', async () => {
    const sd: StateDict = new Map([
      ['lin.relu1.weight', { dtype: 'float32' as const, shape: [64], data: new Float32Array(64).fill(3e38) }],
    ]);
    const file = path.join(dir, 'huge-lin.safetensors');
    await writeSafetensors(file, sd);
    const a = path.join(d0, 'plain.png');
    const r = await dpl(['similarity', a, path.join(d1, 'plain.png'), ...NET, '--variant', 'lin', '--lin-weights', file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/d0\/plain\.png vs .*d1\/plain\.png: the distance is (Infinity|NaN)/);
    expect(r.out).toBe('');
  });

  it('a --weights file that is not a published checkpoint is "file" with its hash, not "pretrained"', async () => {
    const b = (await import('@dpl/core')).createRegistry;
    const reg = await b({ cwd: ROOT });
    const sq = reg.backbone('squeezenet1_1');
    const file = path.join(dir, 'sq.safetensors');
    await writeSafetensors(file, randomStateDict(sq.graph(), 3));
    const r = await dpl([
      'similarity',
      path.join(d0, 'plain.png'),
      path.join(d1, 'plain.png'),
      '--backbone',
      'squeezenet1_1',
      '--weights',
      file,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const w = r.json<{ weights: { kind: string; sha256: string }; randomWeights: boolean }>();
    expect(w.weights.kind).toBe('file');
    expect(w.weights.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(w.randomWeights).toBe(false);
  });

  it('--range=-1,1 takes .npy inputs already in the reference range: same distance as their [0,1] originals', async () => {
    const n = 3 * 33 * 35;
    const x = new Float32Array(n).map((_, i) => (Math.sin(i * 0.37) + 1) / 2);
    const y = new Float32Array(n).map((_, i) => (Math.cos(i * 0.21) + 1) / 2);
    const files = ['x01', 'y01', 'x11', 'y11'].map((f) => path.join(dir, `${f}.npy`));
    [x, y, x.map((v) => 2 * v - 1), y.map((v) => 2 * v - 1)].forEach((d, i) => fs.writeFileSync(files[i], writeNpy([1, 3, 33, 35], d)));
    const args = ['--lpips', '--no-lin', '--seed', '0', '--engine', 'tfjs', '--json'];
    const unit = (await dpl(['similarity', files[0], files[1], ...args])).json<One>().distance;
    const signed = await dpl(['similarity', files[2], files[3], ...args, '--range=-1,1']);
    expect(signed.code).toBe(0);
    expect(Math.abs(signed.json<One>().distance - unit)).toBeLessThanOrEqual(1e-5 * unit);
    const wrong = await dpl(['similarity', files[2], files[3], ...args]);
    expect(wrong.err).toMatch(/outside the declared range \[0,1\]/);
  });

  it.each([
    [['--lpips', '--backbone', 'vgg16'], /--backbone with --lpips: conflicts/],
    [['--net', 'vgg'], /--net: needs --lpips/],
    [['--lpips', '--no-lin', '--lin-weights', 'x.pth'], /--lin-weights with --no-lin: conflicts/],
    [['--range=-1,1'], /--range -1,1: applies to \.npy inputs/],
    [['--map', 'm.txt'], /--map m\.txt: must end in \.npy/],
    [['--map-overlay'], /--map-overlay: needs --map FILE\.png/],
    [['--batch', '4'], /--batch: applies to --dir0\/--dir1 only/],
  ])('%j is refused before any work', async (extra, pattern) => {
    const r = await dpl(['similarity', path.join(d0, 'plain.png'), path.join(d1, 'plain.png'), '--seed', '0', ...extra]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(pattern);
    expect(r.out).toBe('');
  });
});
