import * as fs from 'node:fs';
import * as path from 'node:path';
import { LPIPS_POINTS, writeNpy, writeSafetensors, type StateDict } from '@dpl/core';
import { dpl, png, tmpDir } from './helpers';

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
    [['similarity', 'a.png', 'b.png', '--bogus-flag'], /Unknown arguments?: bogus-flag/],
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
