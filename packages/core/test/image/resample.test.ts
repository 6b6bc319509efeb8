import { Image8, ImageF } from '../../src/image/image';
import { RESAMPLE_FILTERS, ResampleFilter, resize, resizeShorterSide, shorterSideSize } from '../../src/image/resample';
import { isDplError } from '../../src/errors';
import { RefJob, RefRun, compare, floatImage, noiseImage, referenceUnavailable, runReference, smoothImage } from './pil-ref';

// [in w, in h, out w, out h]: /4 down, odd sizes, x4 up, non-integer factors, mixed, degenerate.
const SIZES: [number, number, number, number][] = [
  [288, 288, 72, 72],
  [97, 61, 33, 20],
  [72, 72, 288, 288],
  [100, 80, 67, 53],
  [64, 48, 100, 30],
  [50, 37, 50, 19],
  [37, 50, 91, 50],
  [5, 1, 3, 1],
  [1, 1, 4, 3],
  [300, 7, 2, 9],
];

const why = referenceUnavailable(['PIL', 'numpy']);
if (why) console.warn(`image/resample parity tests skipped: ${why}`);
const withPil = why ? it.skip : it;
const whyTv = why ?? referenceUnavailable(['torchvision']);
if (whyTv && !why) console.warn(`image/resample torchvision tests skipped: ${whyTv}`);
const withTv = whyTv ? it.skip : it;

type Case = { label: string; input: Image8 | ImageF; w: number; h: number; filter: ResampleFilter };

function cases(): Case[] {
  const out: Case[] = [];
  let seed = 1;
  for (const [iw, ih, ow, oh] of SIZES) {
    const inputs: [string, Image8 | ImageF][] = [
      ['rgb-noise', noiseImage(iw, ih, 3, seed++)],
      ['rgb-smooth', smoothImage(iw, ih, 3, seed++)],
      ['L-noise', noiseImage(iw, ih, 1, seed++)],
      ['F-01', floatImage(iw, ih, seed++)],
      ['F-wide', floatImage(iw, ih, seed++, -300, 700)],
    ];
    for (const [kind, input] of inputs) {
      for (const filter of RESAMPLE_FILTERS) {
        out.push({ label: `${kind} ${iw}x${ih}->${ow}x${oh} ${filter}`, input, w: ow, h: oh, filter });
      }
    }
  }
  return out;
}

describe('resize vs Pillow Image.resize', () => {
  const all = cases();
  let ref: RefRun | undefined;
  beforeAll(() => {
    if (why) return;
    const jobs: RefJob[] = all.map((c) => ({ input: c.input, steps: [{ op: 'resize', size: [c.w, c.h], filter: c.filter }] }));
    ref = runReference(jobs);
  });

  withPil('runs against a Pillow whose resize has no reducing step by default', () => {
    console.log(`Pillow ${ref!.info.pillow}, resize reducing_gap default = ${ref!.info.reducing_gap_default}`);
    expect(ref!.info.reducing_gap_default).toBe('None');
  });

  withPil('8-bit RGB and L: bit-exact for every filter and size pair', () => {
    const rows: string[] = [];
    const worst: Record<string, number> = {};
    all.forEach((c, i) => {
      if (!(c.input.data instanceof Uint8Array)) return;
      const { maxAbs, differing } = compare(resize(c.input, c.w, c.h, c.filter), ref!.outputs[i]);
      const key = `${c.label.split(' ')[0]} ${c.filter}`;
      worst[key] = Math.max(worst[key] ?? 0, maxAbs);
      if (maxAbs !== 0) rows.push(`${c.label}: max |diff| ${maxAbs}, ${differing} values differ`);
    });
    console.log(
      'resize 8-bit, max |ours - PIL| (0..255) over all size pairs:\n' +
        Object.entries(worst)
          .map(([k, v]) => `  ${k}: ${v}`)
          .join('\n') +
        (rows.length ? `\nnon-zero cases:\n  ${rows.join('\n  ')}` : ''),
    );
    expect(Math.max(...Object.values(worst))).toBe(0);
  });

  withPil("float 'F': equal to Pillow's float32 results", () => {
    let worstAbs = 0;
    let worstRel = 0;
    let differing = 0;
    all.forEach((c, i) => {
      if (!(c.input.data instanceof Float32Array)) return;
      const ours = resize(c.input, c.w, c.h, c.filter);
      const r = compare(ours, ref!.outputs[i]);
      differing += r.differing;
      worstAbs = Math.max(worstAbs, r.maxAbs);
      const scale = c.label.startsWith('F-wide') ? 1000 : 1;
      worstRel = Math.max(worstRel, r.maxAbs / scale);
    });
    console.log(`resize float32: max |ours - PIL| = ${worstAbs} (relative to value range ${worstRel}), ${differing} values differ`);
    expect(worstRel).toBeLessThanOrEqual(1e-6);
  });
});

describe('resizeShorterSide vs torchvision Resize(size) on PIL images', () => {
  const inputs: Image8[] = [
    smoothImage(500, 375, 3, 11),
    noiseImage(97, 130, 3, 12),
    smoothImage(64, 64, 3, 13),
    noiseImage(300, 256, 3, 14),
  ];
  const sizes = [256, 288, 64, 33];
  const filters: ResampleFilter[] = ['bilinear', 'bicubic', 'nearest'];
  const all = inputs.flatMap((input) => sizes.flatMap((size) => filters.map((filter) => ({ input, size, filter }))));
  let ref: RefRun | undefined;
  beforeAll(() => {
    if (whyTv) return;
    ref = runReference(all.map((c) => ({ input: c.input, steps: [{ op: 'tv_resize', size: c.size, filter: c.filter }] })));
  });

  withTv('same output size and pixels', () => {
    let worst = 0;
    all.forEach((c, i) => {
      const ours = resizeShorterSide(c.input, c.size, c.filter);
      const theirs = ref!.outputs[i];
      expect([ours.width, ours.height]).toEqual([theirs.width, theirs.height]);
      worst = Math.max(worst, compare(ours, theirs).maxAbs);
    });
    console.log(`resizeShorterSide vs torchvision Resize: ${all.length} cases, max |diff| ${worst}`);
    expect(worst).toBe(0);
  });
});

describe('resize (no reference needed)', () => {
  it('keeps a constant image constant for every filter (weights sum to one in fixed point)', () => {
    for (const v of [0, 1, 128, 254, 255]) {
      const img: Image8 = { width: 41, height: 29, channels: 3, data: new Uint8Array(41 * 29 * 3).fill(v) };
      for (const filter of RESAMPLE_FILTERS) {
        for (const [w, h] of [
          [10, 7],
          [100, 77],
          [41, 5],
        ]) {
          const out = resize(img, w, h, filter);
          expect(out.data.every((x) => x === v)).toBe(true);
        }
      }
    }
  });

  it('returns a copy when the size does not change', () => {
    const img = noiseImage(8, 6, 3, 5);
    const out = resize(img, 8, 6, 'bicubic');
    expect(out.data).toEqual(img.data);
    expect(out.data).not.toBe(img.data);
  });

  it('computes torchvision output sizes (truncating the long side)', () => {
    expect(shorterSideSize(500, 375, 256)).toEqual({ width: 341, height: 256 }); // 256*500/375 = 341.33
    expect(shorterSideSize(375, 500, 256)).toEqual({ width: 256, height: 341 });
    expect(shorterSideSize(97, 130, 33)).toEqual({ width: 33, height: 44 }); // 44.23
    expect(shorterSideSize(64, 64, 32)).toEqual({ width: 32, height: 32 });
  });

  it('rejects bad sizes, data and filters with input errors', () => {
    const img = noiseImage(4, 4, 3, 1);
    const bad: (() => unknown)[] = [
      () => resize(img, 0, 4, 'bilinear'),
      () => resize(img, 2.5, 4, 'bilinear'),
      () => resize(img, 2, 2, 'cubic' as ResampleFilter),
      () => resize({ ...img, data: new Uint8Array(5) }, 2, 2, 'bilinear'),
    ];
    for (const f of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isDplError(err)).toBe(true);
    }
  });
});
