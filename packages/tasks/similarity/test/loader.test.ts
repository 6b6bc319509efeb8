import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readImage, writeNpy } from '@dpl/core';
import { bappsBatches, itemsOf, openSplit, type BappsBatch, type BappsItem } from '../src/bapps/loader';
import { generateSyntheticBapps, syntheticJndPair, syntheticTriplet } from '../src/bapps/synthetic';
import { referencePython } from '@dpl/core/testkit';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-sim-load-'));
const PY = referencePython().python;
const hasPil = spawnSync(PY, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;
if (!hasPil) console.warn(`skipping the Pillow resize parity check: ${PY} cannot import PIL and numpy`);
const withPil = hasPil ? it : it.skip;

async function collect(items: BappsItem[], batchSize: number, onBadItem?: 'fail' | 'skip'): Promise<BappsBatch[]> {
  const out: BappsBatch[] = [];
  for await (const b of bappsBatches(items, { batchSize, onBadItem })) out.push(b);
  return out;
}

/** A fresh copy of a generated dataset, for tests that damage it. */
function copyOf(src: string): string {
  const dst = tmp();
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

describe('BAPPS loader', () => {
  let root: string;
  const manifest = {
    generator: 'dpl-synthetic-bapps' as const,
    version: 1 as const,
    seed: 3,
    size: 64,
    counts: { val: 5, train: 2, jnd: 3 },
  };
  beforeAll(async () => {
    root = tmp();
    await generateSyntheticBapps(root, { seed: 3, counts: manifest.counts });
  });

  it('lists ids and streams 2AFC batches whose pixels and judges are the generated ones', async () => {
    const split = openSplit(root, '2afc', 'val', 'deblur');
    expect(split.ids).toEqual(['000000', '000001', '000002', '000003', '000004']);
    expect(split.key).toBe('2afc/val/deblur');
    const batches = await collect(itemsOf([split]), 2);
    expect(batches.map((b) => b.items.length)).toEqual([2, 2, 1]);
    const px = 64 * 64 * 3;
    for (const [bi, b] of batches.entries()) {
      expect(Object.keys(b.images)).toEqual(['ref', 'p0', 'p1']);
      b.items.forEach((it, k) => {
        const t = syntheticTriplet(manifest, 'val', 'deblur', Number(it.id));
        expect(Number(it.id)).toBe(bi * 2 + k);
        expect(b.labels[k]).toBe(t.judge);
        for (const f of ['ref', 'p0', 'p1'] as const)
          expect(Array.from(b.images[f].subarray(k * px, (k + 1) * px))).toEqual(Array.from(t[f].data));
      });
    }
  });

  it('streams JND pairs with their same values across several splits', async () => {
    const splits = ['traditional', 'cnn'].map((s) => openSplit(root, 'jnd', 'val', s));
    const batches = await collect(itemsOf(splits), 4);
    expect(batches.map((b) => b.items.map((i) => `${i.split.split}/${i.id}`))).toEqual([
      ['traditional/000000', 'traditional/000001', 'traditional/000002', 'cnn/000000'],
      ['cnn/000001', 'cnn/000002'],
    ]);
    expect(Object.keys(batches[0].images)).toEqual(['p0', 'p1']);
    expect(batches[1].labels[1]).toBe(syntheticJndPair(manifest, 'cnn', 2).same);
  });

  withPil('resizes images that are not 64x64 exactly as Pillow bilinear does', async () => {
    const big = tmp();
    await generateSyntheticBapps(big, { seed: 1, size: 80, counts: { val: 1, train: 0, jnd: 0 } });
    const split = openSplit(big, '2afc', 'val', 'superres');
    const [b] = await collect(itemsOf([split]), 1);
    const file = path.join(split.dir, 'p1', '000000.png');
    expect((await readImage(file)).width).toBe(80);
    const out = path.join(big, 'pil.bin');
    execFileSync(PY, [
      '-c',
      `from PIL import Image; import numpy as np; np.asarray(Image.open(${JSON.stringify(file)}).convert('RGB').resize((64, 64), Image.BILINEAR)).tofile(${JSON.stringify(out)})`,
    ]);
    const pil = fs.readFileSync(out);
    expect(pil.length).toBe(64 * 64 * 3);
    const ours = b.images.p1;
    let maxDiff = 0;
    for (let i = 0; i < pil.length; i++) maxDiff = Math.max(maxDiff, Math.abs(Math.round(ours[i] * 255) - pil[i]));
    expect(maxDiff).toBe(0);
  });

  it('names a missing split and lists the splits that exist', () => {
    const damaged = copyOf(root);
    fs.rmSync(path.join(damaged, '2afc/val/color'), { recursive: true });
    expect(() => openSplit(damaged, '2afc', 'val', 'color')).toThrow(
      /2afc\/val\/color[\s\S]*does not exist[\s\S]*splits: cnn, deblur, frameinterp, superres, traditional/,
    );
    expect(() => openSplit(path.join(damaged, 'nowhere'), 'jnd', 'val', 'cnn')).toThrow(
      /BAPPS data root .*nowhere: does not exist[\s\S]*fix: point the data root at the BAPPS folder/,
    );
    expect(() => openSplit(path.join(damaged, '2afc'), 'jnd', 'val', 'cnn')).toThrow(
      /2afc\/jnd does not exist; .*2afc has folders: train, val/,
    );
  });

  it('names ids missing in one folder', () => {
    const damaged = copyOf(root);
    fs.rmSync(path.join(damaged, '2afc/val/cnn/p1/000003.png'));
    fs.rmSync(path.join(damaged, '2afc/val/cnn/judge/000001.npy'));
    expect(() => openSplit(damaged, '2afc', 'val', 'cnn')).toThrow(
      /1 of 5 ids missing in p1\/ \(000003\.png\); 1 of 5 ids missing in judge\/ \(000001\.npy\)/,
    );
    fs.rmSync(path.join(damaged, '2afc/val/cnn/ref'), { recursive: true });
    expect(() => openSplit(damaged, '2afc', 'val', 'cnn')).toThrow(/has no ref folder/);
  });

  it('names a judge file of the wrong length', async () => {
    const damaged = copyOf(root);
    const bad = path.join(damaged, '2afc/val/color/judge/000002.npy');
    fs.writeFileSync(bad, writeNpy([2], Float32Array.of(0.5, 0.5)));
    await expect(collect(itemsOf([openSplit(damaged, '2afc', 'val', 'color')]), 2)).rejects.toThrow(
      `${bad}: holds 2 values (shape [2]); a BAPPS judge file holds exactly one`,
    );
    fs.writeFileSync(bad, writeNpy([1, 1, 1], Float32Array.of(1.5)));
    await expect(collect(itemsOf([openSplit(damaged, '2afc', 'val', 'color')]), 2)).rejects.toThrow(
      `${bad}: holds 1.5, not a fraction in [0, 1]`,
    );
  });

  it('reports a corrupt PNG in the middle of a split by its path, after the batches before it', async () => {
    const damaged = copyOf(root);
    const bad = path.join(damaged, '2afc/val/traditional/p0/000003.png');
    fs.writeFileSync(bad, Buffer.from('not a png at all'));
    const items = itemsOf([openSplit(damaged, '2afc', 'val', 'traditional')]);
    const seen: string[] = [];
    let error: Error | undefined;
    try {
      for await (const b of bappsBatches(items, { batchSize: 2 })) seen.push(...b.items.map((i) => i.id));
    } catch (e) {
      error = e as Error;
    }
    expect(seen).toEqual(['000000', '000001']);
    expect(error?.message).toContain(`${bad}: is not a readable image`);
    // 'skip' drops just that triplet and says why
    const batches = await collect(items, 2, 'skip');
    expect(batches.flatMap((b) => b.items.map((i) => i.id))).toEqual(['000000', '000001', '000002', '000004']);
    expect(batches[1].skipped).toEqual([{ split: '2afc/val/traditional', id: '000003', reason: expect.stringContaining(bad) }]);
    expect(batches[1].images.ref.length).toBe(64 * 64 * 3);
  });

  it('refuses a bad batch size and a stream that mixes 2AFC and JND items', async () => {
    const a = itemsOf([openSplit(root, '2afc', 'val', 'cnn')]);
    const j = itemsOf([openSplit(root, 'jnd', 'val', 'cnn')]);
    await expect(collect(a, 0)).rejects.toThrow(/batch size 0/);
    await expect(collect([...a, ...j], 2)).rejects.toThrow(/jnd items in a 2afc stream/);
  });
});
