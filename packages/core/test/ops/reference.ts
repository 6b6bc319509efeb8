/**
 * Float64 reference implementations by the definitions (plain loops), used to check the ops
 * where tfjs has no built-in to compare with (dilated gradients, reflect/replicate padding
 * gradients, output_padding). Layouts as in the ops: NHWC; conv weight HWIO [kh,kw,in/g,out];
 * transposed-conv weight [kh,kw,out,in].
 */

export type Shape4 = [number, number, number, number];

export interface ConvRefArgs {
  x: Float32Array | Float64Array;
  xShape: Shape4;
  w: Float32Array | Float64Array;
  wShape: Shape4;
  b: Float32Array | Float64Array | null;
  stride: [number, number];
  pad: [number, number];
  dilation: [number, number];
  groups: number;
  /** dL/dy; when given, the gradients are returned too. */
  dy?: Float32Array | Float64Array;
}

export interface RefResult {
  y: Float64Array;
  yShape: Shape4;
  dx?: Float64Array;
  dw?: Float64Array;
  db?: Float64Array;
}

const idx4 = (s: Shape4, a: number, b: number, c: number, d: number) => ((a * s[1] + b) * s[2] + c) * s[3] + d;

/** torch.nn.functional.conv2d (any groups) and, given dy, its gradients. */
export function convRef(a: ConvRefArgs): RefResult {
  const [n, h, w, cin] = a.xShape;
  const [kh, kw, cg, cout] = a.wShape;
  const g = a.groups;
  if (cg * g !== cin || cout % g !== 0) throw new Error('reference: bad groups');
  const og = cout / g;
  const [sh, sw] = a.stride,
    [ph, pw] = a.pad,
    [dh, dw] = a.dilation;
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const yShape: Shape4 = [n, oh, ow, cout];
  const y = new Float64Array(n * oh * ow * cout);
  const dy = a.dy;
  const dx = dy ? new Float64Array(a.x.length) : undefined;
  const dwt = dy ? new Float64Array(a.w.length) : undefined;
  const db = dy ? new Float64Array(cout) : undefined;
  for (let bn = 0; bn < n; bn++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < cout; o++) {
          const grp = Math.floor(o / og);
          const yi = idx4(yShape, bn, i, j, o);
          const gy = dy ? dy[yi] : 0;
          let acc = a.b ? a.b[o] : 0;
          for (let p = 0; p < kh; p++) {
            const ii = i * sh - ph + p * dh;
            if (ii < 0 || ii >= h) continue;
            for (let q = 0; q < kw; q++) {
              const jj = j * sw - pw + q * dw;
              if (jj < 0 || jj >= w) continue;
              for (let cl = 0; cl < cg; cl++) {
                const xi = idx4(a.xShape, bn, ii, jj, grp * cg + cl);
                const wi = idx4(a.wShape, p, q, cl, o);
                acc += a.x[xi] * a.w[wi];
                if (dy) {
                  dx![xi] += gy * a.w[wi];
                  dwt![wi] += gy * a.x[xi];
                }
              }
            }
          }
          y[yi] = acc;
          if (dy) db![o] += gy;
        }
  return { y, yShape, dx, dw: dwt, db };
}

export interface ConvTRefArgs {
  x: Float32Array | Float64Array;
  xShape: Shape4;
  /** [kh, kw, out, in] */
  w: Float32Array | Float64Array;
  wShape: Shape4;
  b: Float32Array | Float64Array | null;
  stride: [number, number];
  pad: [number, number];
  outputPadding: [number, number];
  dilation: [number, number];
  dy?: Float32Array | Float64Array;
}

/** torch.nn.functional.conv_transpose2d by its scatter definition, and its gradients. */
export function convTransposeRef(a: ConvTRefArgs): RefResult {
  const [n, h, w, cin] = a.xShape;
  const [kh, kw, cout] = a.wShape;
  const [sh, sw] = a.stride,
    [ph, pw] = a.pad,
    [dh, dw] = a.dilation,
    [oph, opw] = a.outputPadding;
  const oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  const yShape: Shape4 = [n, oh, ow, cout];
  const y = new Float64Array(n * oh * ow * cout);
  const dy = a.dy;
  const dx = dy ? new Float64Array(a.x.length) : undefined;
  const dwt = dy ? new Float64Array(a.w.length) : undefined;
  const db = dy ? new Float64Array(cout) : undefined;
  if (a.b) for (let k = 0; k < y.length; k++) y[k] = a.b[k % cout];
  for (let bn = 0; bn < n; bn++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let c = 0; c < cin; c++) {
          const xi = idx4(a.xShape, bn, i, j, c);
          for (let p = 0; p < kh; p++) {
            const u = i * sh - ph + p * dh;
            if (u < 0 || u >= oh) continue;
            for (let q = 0; q < kw; q++) {
              const v = j * sw - pw + q * dw;
              if (v < 0 || v >= ow) continue;
              for (let o = 0; o < cout; o++) {
                const yi = idx4(yShape, bn, u, v, o);
                const wi = idx4(a.wShape, p, q, o, c);
                y[yi] += a.x[xi] * a.w[wi];
                if (dy) {
                  dx![xi] += dy[yi] * a.w[wi];
                  dwt![wi] += dy[yi] * a.x[xi];
                }
              }
            }
          }
        }
  if (dy) for (let k = 0; k < dy.length; k++) db![k % cout] += dy[k];
  return { y, yShape, dx, dw: dwt, db };
}

export type PadMode = 'constant' | 'reflect' | 'replicate';

/** Source index of padded position `i` (already shifted by -before), or -1 for a constant. */
function srcIndex(i: number, len: number, mode: PadMode): number {
  if (i >= 0 && i < len) return i;
  if (mode === 'constant') return -1;
  if (mode === 'replicate') return i < 0 ? 0 : len - 1;
  return i < 0 ? -i : 2 * (len - 1) - i; // reflect, edge not repeated
}

/** torch.nn.functional.pad(x, (left, right, top, bottom), mode, value) in NHWC and its dx. */
export function padRef(
  x: Float32Array | Float64Array,
  xShape: Shape4,
  pads: [number, number, number, number],
  mode: PadMode,
  value: number,
  dy?: Float32Array | Float64Array,
): { y: Float64Array; yShape: Shape4; dx?: Float64Array } {
  const [n, h, w, c] = xShape;
  const [t, bt, l, r] = pads;
  const yShape: Shape4 = [n, h + t + bt, w + l + r, c];
  const y = new Float64Array(yShape.reduce((p, q) => p * q, 1));
  const dx = dy ? new Float64Array(x.length) : undefined;
  for (let bn = 0; bn < n; bn++)
    for (let i = 0; i < yShape[1]; i++)
      for (let j = 0; j < yShape[2]; j++) {
        const si = srcIndex(i - t, h, mode),
          sj = srcIndex(j - l, w, mode);
        for (let k = 0; k < c; k++) {
          const yi = idx4(yShape, bn, i, j, k);
          if (si < 0 || sj < 0) {
            y[yi] = value;
            continue;
          }
          const xi = idx4(xShape, bn, si, sj, k);
          y[yi] = x[xi];
          if (dy) dx![xi] += dy[yi];
        }
      }
  return { y, yShape, dx };
}
