/**
 * Images decoded by the browser: RGB in [0,1] as the CLI reads them (alpha dropped, grey
 * expanded). PNG is lossless, so the pixels equal the CLI's (sharp) decode for opaque 8-bit PNGs;
 * JPEG decoders may differ by a level here and there, and the browser keeps canvas pixels
 * premultiplied, so semi-transparent pixels can round differently.
 */
import type { DecodedImage } from './protocol';

/** Same as the worker's limit (worker/compare.ts): checked from the file header before decoding when it can be. */
export const MAX_PAGE_PIXELS = 4096 * 4096;
export const IMAGE_EXT = /\.(png|jpe?g|bmp|webp)$/i;

export class PageError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Width and height from a PNG IHDR or a JPEG SOF marker, without decoding; null for other formats. */
export function headerSize(b: Uint8Array): { width: number; height: number } | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return { width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length && b[i] === 0xff) {
      const marker = b[i + 1];
      const len = dv.getUint16(i + 2);
      // SOF0..SOF15 except DHT (c4), JPG (c8), DAC (cc)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: dv.getUint16(i + 5), width: dv.getUint16(i + 7) };
      }
      i += 2 + len;
    }
  }
  return null;
}

function tooLarge(name: string, w: number, h: number): PageError {
  return new PageError(
    `${name}: is too large for the page (${w}x${h}, ${w * h} pixels; the page takes up to ${MAX_PAGE_PIXELS})`,
    'downscale it, or compare it with `dpl similarity` on the command line',
  );
}

export async function decodeImage(file: File): Promise<DecodedImage> {
  const head = headerSize(new Uint8Array(await file.slice(0, 1 << 16).arrayBuffer()));
  if (head && head.width * head.height > MAX_PAGE_PIXELS) throw tooLarge(file.name, head.width, head.height);
  let bmp: ImageBitmap;
  try {
    // as stored: no colour management, no EXIF rotation, no premultiplication (the CLI's sharp decode does none of these)
    bmp = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'none' });
  } catch {
    throw new PageError(`${file.name}: is not an image this browser can decode`, 'choose a PNG, JPEG, WebP or BMP file');
  }
  const { width, height } = bmp;
  if (width * height > MAX_PAGE_PIXELS) {
    bmp.close();
    throw tooLarge(file.name, width, height);
  }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bmp, 0, 0);
  bmp.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    data[j] = rgba[i] / 255;
    data[j + 1] = rgba[i + 1] / 255;
    data[j + 2] = rgba[i + 2] / 255;
  }
  return { name: file.name, width, height, data };
}

/** Same-named images of two folders (by file name); an error lists the names found in only one. */
export function pairFolders(a: File[], b: File[]): { name: string; a: File; b: File }[] {
  const byName = (fs: File[]) => new Map(fs.filter((f) => IMAGE_EXT.test(f.name)).map((f) => [f.name, f]));
  const [ma, mb] = [byName(a), byName(b)];
  const onlyA = [...ma.keys()].filter((n) => !mb.has(n));
  const onlyB = [...mb.keys()].filter((n) => !ma.has(n));
  const show = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? `, ... (${xs.length})` : ''}`;
  if (onlyA.length || onlyB.length) {
    throw new PageError(
      `the folders do not hold the same image names (${[onlyA.length ? `only in A: ${show(onlyA)}` : '', onlyB.length ? `only in B: ${show(onlyB)}` : ''].filter(Boolean).join('; ')})`,
      'compare folders whose images pair up by file name',
    );
  }
  if (!ma.size) throw new PageError('folder A holds no images', 'use folders of PNG, JPEG, WebP or BMP files');
  return [...ma.keys()].sort().map((n) => ({ name: n, a: ma.get(n)!, b: mb.get(n)! }));
}
