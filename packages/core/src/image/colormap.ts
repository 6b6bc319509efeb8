/**
 * The distance map's colours (viridis, 0 at the bottom of the scale), without any image library:
 * heatmap.ts writes them as a PNG on node, the browser page draws them on a canvas.
 */

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

/** Writes the RGB colour of `t` in [0, 1] (clamped) at `out[at..at+2]`. */
export function colour(t: number, out: Uint8Array, at: number): void {
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  for (let c = 0; c < 3; c++) out[at + c] = Math.round(VIRIDIS[i][c] * (1 - f) + VIRIDIS[i + 1][c] * f);
}

/**
 * RGB bytes (HWC) of `map` coloured from 0 to `max`; with `under` (RGB [0,1] HWC of the same size)
 * the colours are blended over it at alpha `alpha`.
 */
export function heatmapRgb(map: Float32Array, max: number, under?: Float32Array, alpha = 0.6): Uint8Array {
  const px = new Uint8Array(map.length * 3);
  for (let i = 0; i < map.length; i++) colour(max > 0 ? map[i] / max : 0, px, 3 * i);
  if (under) {
    for (let i = 0; i < px.length; i++) px[i] = Math.round(alpha * px[i] + (1 - alpha) * 255 * Math.min(Math.max(under[i], 0), 1));
  }
  return px;
}

/** The colour bar: `width` x `height` RGB bytes, the scale's top at the first row. */
export function colourBarRgb(width: number, height: number): Uint8Array {
  const bar = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) colour(1 - y / (height - 1), bar, 3 * (y * width + x));
  return bar;
}
