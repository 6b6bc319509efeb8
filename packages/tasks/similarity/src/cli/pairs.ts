import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { inputError, readInputTensor, resize } from '@dpl/core';

export const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.npy']);

export interface Pair {
  name: string;
  a: string;
  b: string;
}

/** Same-named image files of two folders; an error lists the names found in only one of them. */
export function pairNames(dir0: string, dir1: string): string[] {
  const list = (d: string) => {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw inputError(d, 'is not a folder', 'pass two folders of same-named images');
    return fs
      .readdirSync(d)
      .filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase()))
      .sort();
  };
  const [n0, n1] = [list(dir0), list(dir1)];
  const [s0, s1] = [new Set(n0), new Set(n1)];
  const only0 = n0.filter((n) => !s1.has(n));
  const only1 = n1.filter((n) => !s0.has(n));
  if (only0.length || only1.length) {
    const show = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? `, ... (${xs.length})` : ''}`;
    const parts = [only0.length ? `only in ${dir0}: ${show(only0)}` : '', only1.length ? `only in ${dir1}: ${show(only1)}` : ''].filter(
      Boolean,
    );
    throw inputError(
      `folders ${dir0} and ${dir1}`,
      `do not hold the same image names (${parts.join('; ')})`,
      'compare folders whose images pair up by file name',
    );
  }
  if (!n0.length) throw inputError(dir0, 'holds no images', `use a folder of ${[...IMAGE_EXT].join(' ')} files`);
  return n0;
}

/** An image file as [1, H, W, C], resized to size x size (Pillow's antialiased bilinear, as torchvision's Resize on a PIL image) when asked. */
async function readResized(file: string, size: number | undefined): Promise<tf.Tensor4D> {
  const x = await readInputTensor(file);
  if (size === undefined || (x.shape[1] === size && x.shape[2] === size)) return x;
  const [, h, w, c] = x.shape;
  const img = resize({ width: w, height: h, channels: c, data: (await x.data()) as Float32Array }, size, size, 'bilinear');
  x.dispose();
  return tf.tensor4d(img.data, [1, size, size, c]);
}

/** Both images of a pair, of the same size (an error names both sizes and the fix). */
export async function readPair(p: Pair, size: number | undefined): Promise<[tf.Tensor4D, tf.Tensor4D]> {
  const x = await readResized(p.a, size);
  let y: tf.Tensor4D;
  try {
    y = await readResized(p.b, size);
  } catch (e) {
    x.dispose();
    throw e;
  }
  const [n0, n1] = [x.shape[0], y.shape[0]];
  if (n0 !== n1 || n0 === 0) {
    tf.dispose([x, y]);
    throw inputError(
      `${p.a} and ${p.b}`,
      n0 === 0 || n1 === 0
        ? `${n0 === 0 ? p.a : p.b} holds no images (its batch size N is 0)`
        : `hold different numbers of images (batch sizes N ${n0} and ${n1}); image i of one is compared with image i of the other`,
      'pass .npy batches of the same N >= 1 (shape [N, 3, H, W]), or single images',
    );
  }
  if (x.shape.join() !== y.shape.join()) {
    tf.dispose([x, y]);
    throw inputError(
      `${p.a} and ${p.b}`,
      `have different sizes (${x.shape[2]}x${x.shape[1]} and ${y.shape[2]}x${y.shape[1]})`,
      'compare images of the same size, or pass --size N to resize both to N x N',
    );
  }
  return [x, y];
}
