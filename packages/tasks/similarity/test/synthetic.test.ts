import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readImage, readNpy } from '@dpl/core';
import { JND_VAL_SPLITS, TWO_AFC_TRAIN_SPLITS, TWO_AFC_VAL_SPLITS } from '../src/bapps/layout';
import { generateSyntheticBapps, JUDGE_SLOPE, SYNTHETIC_MANIFEST, syntheticTriplet, type SyntheticManifest } from '../src/bapps/synthetic';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-sim-syn-'));

/** Every file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('synthetic BAPPS generator', () => {
  const counts = { val: 2, train: 3, jnd: 2 };
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = tmp();
    b = tmp();
    await generateSyntheticBapps(a, { seed: 7, counts });
    await generateSyntheticBapps(b, { seed: 7, counts });
  });

  it('writes the BAPPS layout: every split, every folder, one file per id', () => {
    const expected: string[] = [SYNTHETIC_MANIFEST];
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i).padStart(6, '0'));
    for (const s of TWO_AFC_VAL_SPLITS)
      for (const f of ['judge', 'p0', 'p1', 'ref'])
        for (const id of ids(2)) expected.push(`2afc/val/${s}/${f}/${id}.${f === 'judge' ? 'npy' : 'png'}`);
    for (const s of TWO_AFC_TRAIN_SPLITS)
      for (const f of ['judge', 'p0', 'p1', 'ref'])
        for (const id of ids(3)) expected.push(`2afc/train/${s}/${f}/${id}.${f === 'judge' ? 'npy' : 'png'}`);
    for (const s of JND_VAL_SPLITS)
      for (const f of ['p0', 'p1', 'same'])
        for (const id of ids(2)) expected.push(`jnd/val/${s}/${f}/${id}.${f === 'same' ? 'npy' : 'png'}`);
    expect(files(a)).toEqual(expected.sort());
  });

  it('is deterministic: the same seed gives byte-identical files, another seed different images', async () => {
    for (const f of files(a)) expect(fs.readFileSync(path.join(b, f)).equals(fs.readFileSync(path.join(a, f)))).toBe(true);
    const c = tmp();
    await generateSyntheticBapps(c, { seed: 8, counts });
    const ref = '2afc/val/cnn/ref/000000.png';
    expect(fs.readFileSync(path.join(c, ref)).equals(fs.readFileSync(path.join(a, ref)))).toBe(false);
  });

  it('writes 64x64 RGB PNGs and float32 [1] labels that follow the strengths', async () => {
    const img = await readImage(path.join(a, '2afc/val/color/p1/000001.png'));
    expect([img.width, img.height]).toEqual([64, 64]);
    const manifest = JSON.parse(fs.readFileSync(path.join(a, SYNTHETIC_MANIFEST), 'utf8')) as SyntheticManifest;
    for (const split of TWO_AFC_VAL_SPLITS) {
      for (const i of [0, 1]) {
        const j = readNpy(fs.readFileSync(path.join(a, `2afc/val/${split}/judge/00000${i}.npy`)), 'judge');
        expect(j.dtype).toBe('<f4');
        expect(j.shape).toEqual([1]);
        const t = syntheticTriplet(manifest, 'val', split, i);
        // judge = fraction preferring p1: above 1/2 exactly when p0 is the more distorted one
        expect(j.data[0]).toBeCloseTo(1 / (1 + Math.exp(-JUDGE_SLOPE * (t.s0 - t.s1))), 6);
        expect(j.data[0] > 0.5).toBe(t.s0 > t.s1);
        // the stored PNG is the generated (8-bit quantised) image
        const p0 = await readImage(path.join(a, `2afc/val/${split}/p0/00000${i}.png`));
        expect(Array.from(p0.data)).toEqual(Array.from(t.p0.data));
        expect(Array.from(t.p0.data)).not.toEqual(Array.from(t.ref.data));
      }
    }
  });

  it('leaves a root with the same dataset alone and regenerates on other options', async () => {
    const before = fs.statSync(path.join(a, '2afc/val/cnn/ref/000000.png')).mtimeMs;
    expect((await generateSyntheticBapps(a, { seed: 7, counts })).written).toBe(false);
    expect(fs.statSync(path.join(a, '2afc/val/cnn/ref/000000.png')).mtimeMs).toBe(before);
    const d = tmp();
    const one = { val: 1, train: 1, jnd: 1 };
    await generateSyntheticBapps(d, { seed: 7, counts: one });
    expect((await generateSyntheticBapps(d, { seed: 7, counts: { ...one, val: 2 } })).written).toBe(true);
    expect(fs.readdirSync(path.join(d, '2afc/val/cnn/ref'))).toEqual(['000000.png', '000001.png']);
  });

  it('rejects bad options naming them', async () => {
    await expect(generateSyntheticBapps(tmp(), { counts: { val: -1 } })).rejects.toThrow(/synthetic count val -1/);
    await expect(generateSyntheticBapps(tmp(), { size: 3 })).rejects.toThrow(/synthetic size 3/);
  });
});
