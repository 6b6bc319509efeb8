/**
 * Distance maps as pictures: a colour-mapped heatmap (viridis, 0 at the bottom of the scale) with
 * a colour bar labelled with the scale's ends, optionally blended over the image it describes.
 */
import sharp from 'sharp';
import { inputError } from '../errors';

// viridis at 0, 1/8, ..., 1 (matplotlib's table, sampled); linear in between
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

function colour(t: number, out: Buffer, at: number): void {
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  for (let c = 0; c < 3; c++) out[at + c] = Math.round(VIRIDIS[i][c] * (1 - f) + VIRIDIS[i + 1][c] * f);
}

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
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < map.length; i++) colour(max > 0 ? map[i] / max : 0, px, 3 * i);
  if (opts.under) {
    for (let i = 0; i < px.length; i++) px[i] = Math.round(0.6 * px[i] + 0.4 * 255 * Math.min(Math.max(opts.under[i], 0), 1));
  }
  const barH = Math.max(height, 64);
  const bar = Buffer.alloc(16 * barH * 3);
  for (let y = 0; y < barH; y++) for (let x = 0; x < 16; x++) colour(1 - y / (barH - 1), bar, 3 * (y * 16 + x));
  const label = (v: number) => (v === 0 ? '0' : v.toPrecision(3));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${BAR - 20}" height="${barH}"><g font-family="sans-serif" font-size="11" fill="#000"><text x="2" y="11">${label(max)}</text><text x="2" y="${barH - 2}">0</text></g></svg>`;
  await sharp({ create: { width: width + BAR, height: barH, channels: 3, background: '#ffffff' } })
    .composite([
      { input: px, raw: { width, height, channels: 3 }, left: 0, top: 0 },
      { input: bar, raw: { width: 16, height: barH, channels: 3 }, left: width + 4, top: 0 },
      { input: Buffer.from(svg), left: width + 22, top: 0 },
    ])
    .png()
    .toFile(file);
  return max;
}
