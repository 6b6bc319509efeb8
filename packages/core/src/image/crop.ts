/**
 * Cropping as Pillow's `Image.crop` and torchvision's `CenterCrop` compute it on PIL images.
 */
import { AnyImage, blankLike, checkImage, checkSize } from './image';
import { inputError } from '../errors';

/**
 * Pillow's `img.crop((left, top, left + width, top + height))`: the region may extend past the
 * image; pixels outside it are 0.
 */
export function crop<T extends AnyImage>(img: T, left: number, top: number, width: number, height: number): T {
  checkImage(img);
  checkSize(width, 'crop width');
  checkSize(height, 'crop height');
  if (!Number.isInteger(left) || !Number.isInteger(top)) {
    throw inputError('crop', `left and top must be integers, got ${left}, ${top}`);
  }
  const out = blankLike(img, width, height);
  const C = img.channels;
  const x0 = Math.max(left, 0);
  const x1 = Math.min(left + width, img.width);
  const y0 = Math.max(top, 0);
  const y1 = Math.min(top + height, img.height);
  if (x1 <= x0 || y1 <= y0) return out;
  const rowLen = (x1 - x0) * C;
  for (let y = y0; y < y1; y++) {
    const s = (y * img.width + x0) * C;
    const d = ((y - top) * width + (x0 - left)) * C;
    out.data.set(img.data.subarray(s, s + rowLen), d);
  }
  return out;
}

/** Python's round() of n / 2 for an integer n: halves go to the even neighbour. */
function roundHalfEven(n: number): number {
  if (n % 2 === 0) return n / 2;
  const lo = Math.floor(n / 2);
  return lo % 2 === 0 ? lo : lo + 1;
}

/**
 * The top-left corner torchvision's `CenterCrop((height, width))` uses, in the input's
 * coordinates (negative where torchvision first zero-pads a too-small image: left/top padding
 * floor(d / 2) for a size shortfall d, offset `int(round((size - crop) / 2.0))` otherwise).
 */
export function centerCropOffset(imgWidth: number, imgHeight: number, width: number, height: number): { left: number; top: number } {
  const axis = (size: number, want: number): number => (want > size ? -Math.floor((want - size) / 2) : roundHalfEven(size - want));
  return { left: axis(imgWidth, width), top: axis(imgHeight, height) };
}

/**
 * torchvision's `CenterCrop((height, width))` on a PIL image, including its zero padding when the
 * crop is larger than the image. Note the argument order here is width, height.
 */
export function centerCrop<T extends AnyImage>(img: T, width: number, height = width): T {
  checkImage(img);
  checkSize(width, 'centerCrop width');
  checkSize(height, 'centerCrop height');
  const { left, top } = centerCropOffset(img.width, img.height, width, height);
  return crop(img, left, top, width, height);
}
