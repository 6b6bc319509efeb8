/**
 * Distance maps as pictures: a colour-mapped heatmap (viridis, 0 at the bottom of the scale) with
 * a colour bar labelled with the scale's ends, optionally blended over the image it describes.
 */
import sharp from 'sharp';
import { inputError } from '../errors';
import { colourBarRgb, heatmapRgb } from './colormap';

/** Options of writeHeatmapPng: an image to blend the map over, and the top of its scale. */
export interface HeatmapOptions {
  /** RGB [0,1] HWC of the same width and height: the map is blended over it (alpha 0.6). */
  under?: Float32Array;
  /** The value at the top of the scale (default: the map's maximum). */
  max?: number;
}

const BAR = 80; // width of the colour bar and its labels

/**
 * Writes `map` (row-major, height x width) as a PNG heatmap scaled from 0 to the map's maximum,
 * with a colour bar on the right labelled with 0 and that maximum. Returns the scale's top.
 */
export async function writeHeatmapPng(
  file: string,
  map: Float32Array,
  width: number,
  height: number,
  opts: HeatmapOptions = {},
): Promise<number> {
  if (map.length !== width * height)
    throw inputError(file, `map of ${map.length} values for ${width}x${height}`, 'pass a height x width map');
  let max = opts.max ?? 0;
  if (opts.max === undefined) for (const v of map) if (v > max) max = v;
  const px = heatmapRgb(map, max, opts.under);
  const barH = Math.max(height, 64);
  const bar = colourBarRgb(16, barH);
  const label = (v: number) => (v === 0 ? '0' : v.toPrecision(3));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${BAR - 20}" height="${barH}"><g font-family="sans-serif" font-size="11" fill="#000"><text x="2" y="11">${label(max)}</text><text x="2" y="${barH - 2}">0</text></g></svg>`;
  await sharp({ create: { width: width + BAR, height: barH, channels: 3, background: '#ffffff' } })
    .composite([
      { input: Buffer.from(px.buffer, px.byteOffset, px.byteLength), raw: { width, height, channels: 3 }, left: 0, top: 0 },
      {
        input: Buffer.from(bar.buffer, bar.byteOffset, bar.byteLength),
        raw: { width: 16, height: barH, channels: 3 },
        left: width + 4,
        top: 0,
      },
      { input: Buffer.from(svg), left: width + 22, top: 0 },
    ])
    .png()
    .toFile(file);
  return max;
}
