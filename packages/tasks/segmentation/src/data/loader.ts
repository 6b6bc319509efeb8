/**
 * Reading Massachusetts Roads tiles and turning them into network inputs:
 *  - training: a random cropSize x cropSize crop and a horizontal flip with probability hflip, from
 *    a seeded generator per (epoch, tile), so a run is reproducible whatever the batch layout;
 *  - validation / test: the whole tile resized to imageSize x imageSize, image and mask alike,
 *    either as the study's code did it (evalResize 'tensor-bilinear': torchvision's resize on the
 *    ToTensor output, i.e. F.interpolate bilinear without antialiasing) or with Pillow's
 *    antialiased bilinear filter ('antialiased'); docs/PROTOCOL.md, "Deviations";
 *  - masks are binarised at 0.5 after any resize (value / 255 > 0.5): the reference code fed the
 *    blurred resized mask to BCE; a binary target matches how the metrics read it.
 * Images are RGB in [0,1] (no normalisation, as the reference's ToTensor); masks are 1 channel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError, readImage, resize, type Image8 } from '@dpl/core';
import type { RoadPair } from './layout';
import { bilinearNoAntialias } from './tensor-resize';

/** How validation / test tiles are resized (docs/PROTOCOL.md, "Deviations"). */
export type EvalResize = 'tensor-bilinear' | 'antialiased';

const { round, floor } = Math;

/** One decoded tile: 8-bit RGB (HWC) and its 8-bit mask (HW). */
export interface RoadTile {
  name: string;
  width: number;
  height: number;
  rgb: Uint8Array;
  mask: Uint8Array;
}

/** A network-ready sample: RGB in [0,1] (HWC) and a binary mask (HW), both size x size. */
export interface RoadSample {
  size: number;
  rgb: Float32Array;
  mask: Float32Array;
}

/** readImage gives byte / 255 as float32; multiplying back and rounding recovers the byte exactly. */
function toBytes(data: Float32Array, channels: number, stride: number): Uint8Array {
  const n = data.length / stride;
  const out = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = round(data[i * stride + c] * 255);
  return out;
}

/**
 * Decodes an image and its mask (TIFF, PNG or JPEG). The mask's first channel is the road map
 * (Massachusetts masks are 8-bit grayscale, 0 or 255). Throws naming both files when their sizes
 * differ.
 */
export async function readRoadPair(pair: RoadPair): Promise<RoadTile> {
  const img = await readImage(pair.image);
  const msk = await readImage(pair.mask);
  if (img.width !== msk.width || img.height !== msk.height) {
    throw inputError(
      `mask ${pair.mask}`,
      `is ${msk.width}x${msk.height} but its image ${pair.image} is ${img.width}x${img.height}`,
      'give every image a mask of exactly the same size',
    );
  }
  return { name: pair.name, width: img.width, height: img.height, rgb: toBytes(img.data, 3, 3), mask: toBytes(msk.data, 1, 3) };
}

/** Mask bytes to {0, 1}: road where value / 255 > 0.5. */
function binarise(mask: Uint8Array): Float32Array {
  const out = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] > 127.5 ? 1 : 0;
  return out;
}

/**
 * A training sample: a random crop (offsets uniform over every valid position, as torchvision's
 * RandomCrop) then a horizontal flip with probability `hflip`, both drawn from `rand`.
 */
export function trainCrop(tile: RoadTile, size: number, hflip: number, rand: () => number, file = tile.name): RoadSample {
  if (tile.width < size || tile.height < size) {
    throw inputError(
      `training tile ${file}`,
      `is ${tile.width}x${tile.height}, smaller than the ${size}x${size} crop`,
      'lower cropSize or remove the tile',
    );
  }
  const top = floor(rand() * (tile.height - size + 1));
  const left = floor(rand() * (tile.width - size + 1));
  const flip = rand() < hflip;
  const rgb = new Float32Array(size * size * 3);
  const mask = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = left + (flip ? size - 1 - x : x);
      const s = (top + y) * tile.width + sx;
      const d = y * size + x;
      rgb[3 * d] = tile.rgb[3 * s] / 255;
      rgb[3 * d + 1] = tile.rgb[3 * s + 1] / 255;
      rgb[3 * d + 2] = tile.rgb[3 * s + 2] / 255;
      mask[d] = tile.mask[s] > 127.5 ? 1 : 0;
    }
  }
  return { size, rgb, mask };
}

/** A validation / test sample: the whole tile resized to size x size, mask binarised after resizing. */
export function evalSample(tile: RoadTile, size: number, mode: EvalResize = 'antialiased'): RoadSample {
  if (mode === 'tensor-bilinear') {
    const scale = (v: Uint8Array) => Float32Array.from(v, (b) => b / 255);
    const rgb = bilinearNoAntialias(scale(tile.rgb), tile.width, tile.height, 3, size, size);
    const m = bilinearNoAntialias(scale(tile.mask), tile.width, tile.height, 1, size, size);
    return { size, rgb, mask: m.map((v) => (v > 0.5 ? 1 : 0)) };
  }
  const img: Image8 = { width: tile.width, height: tile.height, channels: 3, data: tile.rgb };
  const msk: Image8 = { width: tile.width, height: tile.height, channels: 1, data: tile.mask };
  const r = resize(img, size, size, 'bilinear');
  const m = resize(msk, size, size, 'bilinear');
  const rgb = new Float32Array(r.data.length);
  for (let i = 0; i < rgb.length; i++) rgb[i] = r.data[i] / 255;
  return { size, rgb, mask: binarise(m.data) };
}

/** Samples of one size as tensors: x [N, S, S, 3] and y [N, S, S, 1]. */
export function toTensors(samples: readonly RoadSample[]): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const s = samples[0].size;
  const n = samples.length;
  const xs = new Float32Array(n * s * s * 3);
  const ys = new Float32Array(n * s * s);
  samples.forEach((p, i) => {
    if (p.size !== s) throw inputError('samples', `mix sizes ${s} and ${p.size}`, 'batch samples of one size');
    xs.set(p.rgb, i * s * s * 3);
    ys.set(p.mask, i * s * s);
  });
  return { x: tf.tensor4d(xs, [n, s, s, 3]), y: tf.tensor4d(ys, [n, s, s, 1]) };
}

/**
 * Reads training tiles on demand and keeps decoded ones in memory until `cacheBytes` is used:
 * small sets (synthetic, quick runs) are decoded once, while the full 1108 Massachusetts training
 * tiles (~9 GiB decoded) stream from disk. No eviction: with shuffled epochs a bounded LRU would
 * miss almost always, whereas a fixed resident subset keeps its hit rate.
 */
export class TileReader {
  private readonly cache = new Map<number, RoadTile>();
  private used = 0;

  constructor(
    readonly pairs: readonly RoadPair[],
    private readonly cacheBytes: number,
  ) {}

  async get(i: number): Promise<RoadTile> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const tile = await readRoadPair(this.pairs[i]);
    const bytes = tile.rgb.byteLength + tile.mask.byteLength;
    if (this.used + bytes <= this.cacheBytes) {
      this.cache.set(i, tile);
      this.used += bytes;
    }
    return tile;
  }

  get cachedTiles(): number {
    return this.cache.size;
  }
}

/** Reads and resizes every pair of an evaluation split (val/test tiles are few: 14 and 49). */
export async function loadEvalSamples(
  pairs: readonly RoadPair[],
  size: number,
  onTile?: () => void,
  mode: EvalResize = 'antialiased',
): Promise<{ names: string[]; samples: RoadSample[] }> {
  const samples: RoadSample[] = [];
  for (const p of pairs) {
    samples.push(evalSample(await readRoadPair(p), size, mode));
    onTile?.();
  }
  return { names: pairs.map((p) => p.name), samples };
}
