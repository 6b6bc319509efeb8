/**
 * torch.nn.functional.interpolate(mode='bilinear', align_corners=False) without antialiasing, on
 * an HWC float image: what torchvision's functional.resize does to a *tensor* (torchvision 0.14,
 * antialias off), and so what the study's segmentation code did to its validation and test tiles
 * (docs/PROTOCOL.md, "Deviations": evalResize). Downsampling 1500 -> 224 this way samples 2x2
 * neighbourhoods only, unlike Pillow's antialiased bilinear filter.
 */

/** PyTorch's area_pixel_compute_source_index for align_corners=False, clamped at 0 as upsample_bilinear2d does. */
function sourceIndex(dst: number, scale: number): number {
  const s = scale * (dst + 0.5) - 0.5;
  return s < 0 ? 0 : s;
}

/** Resizes `data` (height x width x channels, row-major) to outHeight x outWidth. */
export function bilinearNoAntialias(
  data: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  const out = new Float32Array(outWidth * outHeight * channels);
  const sx = width / outWidth;
  const sy = height / outHeight;
  for (let y = 0; y < outHeight; y++) {
    const fy = sourceIndex(y, sy);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, height - 1);
    const ly = fy - y0;
    for (let x = 0; x < outWidth; x++) {
      const fx = sourceIndex(x, sx);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, width - 1);
      const lx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number) => data[(yy * width + xx) * channels + c];
        const top = (1 - lx) * at(y0, x0) + lx * at(y0, x1);
        const bottom = (1 - lx) * at(y1, x0) + lx * at(y1, x1);
        out[(y * outWidth + x) * channels + c] = (1 - ly) * top + ly * bottom;
      }
    }
  }
  return out;
}
