import { Image8, ImageF, fromFloat01, toFloat01 } from '../../src/image/image';
import { centerCrop, centerCropOffset, crop } from '../../src/image/crop';
import { resize, resizeShorterSide } from '../../src/image/resample';
import { gaussianBlur } from '../../src/image/blur';
import { RefJob, RefRun, compare, floatImage, noiseImage, referenceUnavailable, runReference, smoothImage } from './pil-ref';

const why = referenceUnavailable(['PIL', 'numpy', 'torchvision']);
if (why) console.warn(`image/crop parity tests skipped: ${why}`);
const withRef = why ? it.skip : it;

// [image w, h, crop w, h]: even/odd margins (round-half-even offsets), too-large crops (padding).
const CROPS: [number, number, number, number][] = [
  [97, 61, 50, 40],
  [100, 80, 99, 79],
  [101, 81, 98, 78],
  [300, 256, 224, 224],
  [64, 48, 64, 48],
  [20, 30, 25, 10],
  [20, 30, 7, 41],
  [9, 9, 12, 13],
];

describe('crop, pipelines and converters vs Pillow/torchvision', () => {
  const jobs: RefJob[] = [];
  const checks: { label: string; ours: () => Image8 | ImageF | Float32Array; job: number }[] = [];
  const add = (label: string, job: RefJob, ours: () => Image8 | ImageF | Float32Array) => {
    checks.push({ label, ours, job: jobs.length });
    jobs.push(job);
  };
  CROPS.forEach(([w, h, cw, ch], i) => {
    const img = noiseImage(w, h, 3, 100 + i);
    add(`CenterCrop ${w}x${h} -> ${cw}x${ch}`, { input: img, steps: [{ op: 'tv_centercrop', size: [ch, cw] }] }, () =>
      centerCrop(img, cw, ch),
    );
  });
  const f = floatImage(31, 20, 7);
  add('CenterCrop F 31x20 -> 16x25', { input: f, steps: [{ op: 'tv_centercrop', size: [25, 16] }] }, () => centerCrop(f, 16, 25));
  const g = noiseImage(30, 20, 3, 8);
  add('Image.crop past the edges', { input: g, steps: [{ op: 'crop', box: [-3, 5, 12, 28] }] }, () => crop(g, -3, 5, 15, 23));

  // The super-resolution benchmark's preprocessing: HR = Resize(288) + CenterCrop(288);
  // LR = GaussianBlur(1) then bicubic resize to 72.
  const photo = smoothImage(400, 300, 3, 9);
  add(
    'HR: Resize(288) bilinear + CenterCrop(288)',
    {
      input: photo,
      steps: [
        { op: 'tv_resize', size: 288, filter: 'bilinear' },
        { op: 'tv_centercrop', size: [288, 288] },
      ],
    },
    () => centerCrop(resizeShorterSide(photo, 288, 'bilinear'), 288, 288),
  );
  const hr = centerCrop(resizeShorterSide(photo, 288, 'bilinear'), 288, 288);
  add(
    'LR: GaussianBlur(1) + bicubic 288 -> 72',
    {
      input: hr,
      steps: [
        { op: 'gaussian', radius: 1 },
        { op: 'resize', size: [72, 72], filter: 'bicubic' },
      ],
    },
    () => resize(gaussianBlur(hr, 1), 72, 72, 'bicubic'),
  );
  const small = noiseImage(23, 17, 3, 10);
  add('toFloat01 vs ToTensor (HWC)', { input: small, steps: [{ op: 'tv_totensor' }], outFloat: true }, () => toFloat01(small));

  let ref: RefRun | undefined;
  beforeAll(() => {
    if (!why) ref = runReference(jobs);
  });

  withRef('every case matches exactly', () => {
    const lines: string[] = [];
    let worst = 0;
    for (const c of checks) {
      const theirs = ref!.outputs[c.job];
      const got = c.ours();
      const ours = got instanceof Float32Array ? { ...theirs, data: got } : got;
      const { maxAbs } = compare(ours, theirs);
      worst = Math.max(worst, maxAbs);
      lines.push(`${c.label}: ${ours.width}x${ours.height} vs ${theirs.width}x${theirs.height}, max |diff| ${maxAbs}`);
    }
    console.log(`crop/pipeline/converter parity:\n  ${lines.join('\n  ')}`);
    expect(worst).toBe(0);
  });
});

describe('crop (no reference needed)', () => {
  it("rounds CenterCrop offsets half to even, as Python's round()", () => {
    // (5 - 2) / 2 = 1.5 -> 2; (7 - 2) / 2 = 2.5 -> 2; (6 - 2) / 2 = 2.
    expect(centerCropOffset(5, 7, 2, 2)).toEqual({ left: 2, top: 2 });
    expect(centerCropOffset(6, 9, 2, 2)).toEqual({ left: 2, top: 4 }); // 3.5 -> 4
    // Too small: padded by floor(d / 2) on the left/top, so the offset is negative.
    expect(centerCropOffset(4, 4, 9, 4)).toEqual({ left: -2, top: 0 });
  });

  it('copies the right pixels and zero-fills outside the image', () => {
    const img: Image8 = { width: 3, height: 2, channels: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(crop(img, 1, 0, 2, 2).data)).toEqual([2, 3, 5, 6]);
    expect(Array.from(crop(img, -1, 1, 3, 2).data)).toEqual([0, 4, 5, 0, 0, 0]);
  });

  it('fromFloat01 inverts toFloat01 and clamps', () => {
    const img = noiseImage(16, 16, 3, 4);
    const f = { width: 16, height: 16, channels: 3, data: toFloat01(img) };
    expect(fromFloat01(f).data).toEqual(img.data);
    expect(fromFloat01(f, 'truncate').data).toEqual(img.data);
    const odd: ImageF = { width: 5, height: 1, channels: 1, data: Float32Array.from([-0.2, 0.5, 1.7, NaN, 0.999]) };
    expect(Array.from(fromFloat01(odd).data)).toEqual([0, 128, 255, 0, 255]);
    expect(Array.from(fromFloat01(odd, 'truncate').data)).toEqual([0, 127, 255, 0, 254]);
  });
});
