import { Image8 } from '../../src/image/image';
import { boxBlur, gaussianBlur, gaussianBoxRadius } from '../../src/image/blur';
import { isDplError } from '../../src/errors';
import { RefRun, compare, noiseImage, referenceUnavailable, runReference, smoothImage } from './pil-ref';

const why = referenceUnavailable(['PIL', 'numpy']);
if (why) console.warn(`image/blur parity tests skipped: ${why}`);
const withPil = why ? it.skip : it;

const IMAGES: [string, Image8][] = [
  ['rgb-noise 97x61', noiseImage(97, 61, 3, 21)],
  ['rgb-smooth 288x288', smoothImage(288, 288, 3, 22)],
  ['L-noise 40x33', noiseImage(40, 33, 1, 23)],
  ['rgba-noise 20x17', noiseImage(20, 17, 4, 24)],
  ['rgb-noise 7x5', noiseImage(7, 5, 3, 25)], // radius larger than the image
  ['rgb-noise 1x9', noiseImage(1, 9, 3, 26)],
];

describe('blur vs Pillow ImageFilter', () => {
  const gaussRadii = [1, 0.5, 2, 3.7, 10];
  const boxRadii = [0.25, 1, 2.5, 6];
  const cases = IMAGES.flatMap(([name, input]) => [
    ...gaussRadii.map((radius) => ({ name, input, kind: 'gaussian' as const, radius })),
    ...boxRadii.map((radius) => ({ name, input, kind: 'boxblur' as const, radius })),
  ]);
  let ref: RefRun | undefined;
  beforeAll(() => {
    if (why) return;
    ref = runReference(cases.map((c) => ({ input: c.input, steps: [{ op: c.kind, radius: c.radius }] })));
  });

  withPil('GaussianBlur and BoxBlur are bit-exact (every radius, image size and channel count)', () => {
    const lines: string[] = [];
    let worst = 0;
    cases.forEach((c, i) => {
      const ours = c.kind === 'gaussian' ? gaussianBlur(c.input, c.radius) : boxBlur(c.input, c.radius);
      const { maxAbs, differing } = compare(ours, ref!.outputs[i]);
      worst = Math.max(worst, maxAbs);
      lines.push(`${c.kind}(${c.radius}) ${c.name}: max |diff| ${maxAbs}${differing ? ` (${differing} values differ)` : ''}`);
    });
    console.log(`blur, ours vs Pillow (0..255 units):\n  ${lines.join('\n  ')}`);
    expect(worst).toBe(0);
  });
});

describe('blur (no reference needed)', () => {
  it("derives Pillow's box radius from sigma (Gwosdek et al.: variance of 3 passes = sigma^2)", () => {
    // For radius 1 and 3 passes the extended box has l = 0 and a = 0.25 (variance 1/3 per pass).
    expect(gaussianBoxRadius(1, 3)).toBeCloseTo(0.25, 6);
    for (const sigma of [0.5, 1, 2, 5]) {
      const r = gaussianBoxRadius(sigma, 3);
      const l = Math.floor(r);
      const a = r - l;
      // Variance of an extended box of integer radius l and fractional part a (Gwosdek eq. 19).
      const variance = (((2 * l + 1) * l * (l + 1)) / 3 + 2 * a * (l + 1) ** 2) / (2 * l + 1 + 2 * a);
      expect(3 * variance).toBeCloseTo(sigma * sigma, 4);
    }
  });

  it('keeps constant images constant and does not modify its input', () => {
    const img: Image8 = { width: 13, height: 9, channels: 3, data: new Uint8Array(13 * 9 * 3).fill(77) };
    expect(gaussianBlur(img, 1.5).data.every((v) => v === 77)).toBe(true);
    const noise = noiseImage(10, 10, 3, 3);
    const before = noise.data.slice();
    gaussianBlur(noise, 1);
    expect(noise.data).toEqual(before);
  });

  it('rejects negative radii and float images', () => {
    for (const f of [
      () => gaussianBlur(noiseImage(3, 3, 3, 1), -1),
      () => gaussianBlur({ width: 1, height: 1, channels: 1, data: new Float32Array(1) } as unknown as Image8, 1),
    ]) {
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
