/**
 * Pillow's blurs on 8-bit images, bit-exact: `ImageFilter.GaussianBlur(radius)` and
 * `ImageFilter.BoxBlur(radius)`.
 *
 * Pillow approximates a Gaussian by `passes` (3) extended box blurs (Gwosdek et al. 2011): the
 * box radius r solves for variance radius^2 / passes, and is fractional. One extended box pass
 * averages the 2*floor(r)+1 nearest pixels with weight ww each and the next pixel on either side
 * with the smaller weight fw, in 24-bit fixed point, rounding to 8 bits after every pass. Edges
 * repeat the border pixel. All horizontal passes run first, then all vertical ones. Pillow does the
 * arithmetic for the radius in float32 (the radius argument itself is parsed as a C float), which
 * is reproduced with Math.fround.
 */
import { inputError } from '../errors';
import { Image8, checkImage } from './image';

const f32 = Math.fround;

/** Box radius whose `passes` repetitions have the variance of a Gaussian with sigma `radius`. */
export function gaussianBoxRadius(radius: number, passes = 3): number {
  const r = f32(radius);
  const sigma2 = f32(f32(r * r) / passes);
  const L = f32(Math.sqrt(12 * sigma2 + 1));
  const l = f32(Math.floor((L - 1) / 2));
  const len = f32(f32(2 * l) + 1);
  let a = f32(len * f32(f32(l * f32(l + 1)) - f32(3 * sigma2)));
  const lp1 = f32(l + 1);
  a = f32(a / f32(6 * f32(sigma2 - f32(lp1 * lp1))));
  return f32(l + a);
}

const ONE24 = 1 << 24;

/**
 * One extended box pass along lines of `n` samples `step` apart, one line per entry of
 * `lineStarts` (its first sample), in place (each line is copied first: Pillow reads the unmodified line).
 */
function boxPass(data: Uint8Array, n: number, step: number, lineStarts: Int32Array, radius: number): void {
  const r = Math.trunc(radius);
  // Pillow: ww = (uint32)(2^24 / (2 * radius + 1)) in float32; fw gets the rest of the 2^24, split
  // between the two far pixels (uint32 arithmetic).
  const ww = Math.trunc(f32(ONE24 / f32(f32(radius * 2) + 1)));
  const fw = Math.floor(((ONE24 - (r * 2 + 1) * ww + 4294967296) % 4294967296) / 2);
  const line = new Float64Array(n);
  const last = n - 1;
  const at = (i: number): number => line[i < 0 ? 0 : i > last ? last : i];
  for (const start of lineStarts) {
    for (let i = 0, p = start; i < n; i++, p += step) line[i] = data[p];
    // Window sum for x = -1: samples -1-r .. -1+r (clamped).
    let acc = 0;
    for (let k = -1 - r; k <= -1 + r; k++) acc += at(k);
    for (let x = 0, p = start; x < n; x++, p += step) {
      acc += at(x + r) - at(x - r - 1);
      // uint32 arithmetic as in Pillow (only wraps if fw did, for a few integer radii).
      const bulk = (acc * ww + (at(x - r - 1) + at(x + r + 1)) * fw + (1 << 23)) % 4294967296;
      data[p] = (bulk / ONE24) & 255; // bulk < 2^32: `&` truncates = the uint32 >> 24
    }
  }
}

function checkRadius(radius: number, name: string): void {
  if (!Number.isFinite(radius) || radius < 0) {
    throw inputError(name, `radius must be a finite number >= 0, got ${radius}`);
  }
}

/** `passes` extended box blurs of (fractional) radius `radius`: horizontal passes, then vertical. */
function boxBlurPasses(img: Image8, radius: number, passes: number): Image8 {
  const { width: W, height: H, channels: C } = img;
  const data = img.data.slice();
  const rowStarts = new Int32Array(H * C);
  for (let y = 0; y < H; y++) for (let c = 0; c < C; c++) rowStarts[y * C + c] = y * W * C + c;
  const colStarts = new Int32Array(W * C);
  for (let i = 0; i < W * C; i++) colStarts[i] = i;
  for (let i = 0; i < passes; i++) boxPass(data, W, C, rowStarts, radius);
  for (let i = 0; i < passes; i++) boxPass(data, H, W * C, colStarts, radius);
  return { width: W, height: H, channels: C, data };
}

/** Pillow's `img.filter(ImageFilter.GaussianBlur(radius))` for 8-bit images (radius = sigma). */
export function gaussianBlur(img: Image8, radius: number): Image8 {
  checkImage(img);
  if (!(img.data instanceof Uint8Array)) throw inputError('gaussianBlur image', 'must be 8-bit (Uint8Array data)');
  checkRadius(radius, 'gaussianBlur');
  return boxBlurPasses(img, gaussianBoxRadius(radius, 3), 3);
}

/** Pillow's `img.filter(ImageFilter.BoxBlur(radius))` for 8-bit images (one extended box pass). */
export function boxBlur(img: Image8, radius: number): Image8 {
  checkImage(img);
  if (!(img.data instanceof Uint8Array)) throw inputError('boxBlur image', 'must be 8-bit (Uint8Array data)');
  checkRadius(radius, 'boxBlur');
  return boxBlurPasses(img, f32(radius), 1);
}
