/**
 * What a weights file may make the reader allocate, checked from its header / pickle before any
 * tensor data is read: views must lie inside their storage without overlapping themselves, and
 * the total is capped. Values are checked once for NaN/Inf after decoding.
 */
import { weightsError } from '../errors';

/** Env override for the cap on the float32 bytes one weights file may materialise. */
export const MAX_WEIGHTS_BYTES_ENV = 'DPL_MAX_WEIGHTS_BYTES';
/** 1 GiB: vgg19_bn (~550 MB of float32) and efficientnet_b7 (~260 MB) fit with room to spare. */
export const DEFAULT_MAX_WEIGHTS_BYTES = 1024 ** 3;
/** Rank above this is no real checkpoint (torch itself allows 64). */
export const MAX_RANK = 64;
/** One Float32Array's length limit we allow. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** The cap in bytes: DPL_MAX_WEIGHTS_BYTES (an integer number of bytes) or the default. */
export function maxWeightsBytes(): number {
  const raw = process.env[MAX_WEIGHTS_BYTES_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_MAX_WEIGHTS_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw weightsError(
      `${MAX_WEIGHTS_BYTES_ENV}=${raw}`,
      'is not a positive whole number of bytes',
      `set it to e.g. ${DEFAULT_MAX_WEIGHTS_BYTES} (the default), or unset it`,
    );
  }
  return n;
}

/**
 * Throws when a file would materialise more than the cap; `total` counts float32 bytes (or, with
 * `what` = 'holds', the raw bytes a legacy checkpoint is read into at once).
 */
export function checkTotalBytes(source: string, total: number, cap = maxWeightsBytes(), what: 'float32' | 'holds' = 'float32'): void {
  if (total > cap) {
    const claim = what === 'holds' ? `holds ${fmtBytes(total)} (read at once)` : `its tensors would take ${fmtBytes(total)} as float32`;
    throw weightsError(
      source,
      `${claim}, over the ${fmtBytes(cap)} limit for one weights file`,
      `if the file is trusted and that much memory is available, raise the limit: ${MAX_WEIGHTS_BYTES_ENV}=${Math.ceil(total * 1.1)}`,
    );
  }
}

export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** numel with overflow checks; throws `fail` for a negative, fractional or absurd shape. */
export function checkedNumel(shape: readonly number[], fail: (problem: string) => Error): number {
  if (shape.length > MAX_RANK) throw fail(`has ${shape.length} dimensions (at most ${MAX_RANK})`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw fail(`has a bad dimension ${String(d)} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  if (n > MAX_ELEMENTS) throw fail(`has ${shape.join(' x ')} elements, more than one array can hold (${MAX_ELEMENTS})`);
  return n;
}

/**
 * Validates a strided view of `storageSize` elements: the view lies inside the storage and no
 * two of its elements share one (so stride 0 on a dimension longer than 1, and any aliasing
 * stride pattern, are refused). Sufficient test: sorted by stride, each dimension's stride must
 * step past everything the smaller-stride dimensions span. Every tensor torch.save writes from
 * ordinary parameters, slices, transposes and permutes passes. Returns the element count.
 */
export function checkView(
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
  storageSize: number,
  fail: (problem: string) => Error,
): number {
  const desc = () => `shape [${shape.join(', ')}], stride [${stride.join(', ')}], offset ${offset}`;
  if (shape.length !== stride.length) throw fail(`has ${desc()}: shape and stride differ in length`);
  const n = checkedNumel(shape, fail);
  for (const s of stride) if (!Number.isSafeInteger(s) || s < 0) throw fail(`has a bad stride in ${desc()}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw fail(`has a bad storage offset in ${desc()}`);
  if (n === 0) {
    if (offset > storageSize) throw fail(`has ${desc()}, starting past the end of its ${storageSize}-element storage`);
    return 0;
  }
  const dims = shape.map((size, d) => ({ size, stride: stride[d] })).filter((x) => x.size > 1);
  dims.sort((a, b) => a.stride - b.stride);
  let span = 0; // largest index offset reached by the dimensions checked so far
  for (const { size, stride: s } of dims) {
    if (s <= span) {
      throw fail(
        `has ${desc()}: ${s === 0 ? 'a stride of 0 repeats one storage element' : 'its strides make storage elements appear more than once'} ` +
          '(an expanded or overlapping view); such views are refused',
      );
    }
    span += (size - 1) * s;
    if (span > Number.MAX_SAFE_INTEGER) throw fail(`has ${desc()}, reaching past any storage`);
  }
  if (offset + span >= storageSize) {
    throw fail(`has ${desc()}: it reaches element ${offset + span} of a storage with ${storageSize} elements`);
  }
  return n;
}

/**
 * x * 0 is 0 for every finite x and NaN for NaN and +-Infinity, so the sums stay 0 exactly when
 * all values are finite; four independent sums and no branch keep the scan near memory speed.
 */
function allFinite(d: Float32Array): boolean {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const n = d.length & ~3;
  for (let i = 0; i < n; i += 4) {
    a0 += d[i] * 0;
    a1 += d[i + 1] * 0;
    a2 += d[i + 2] * 0;
    a3 += d[i + 3] * 0;
  }
  for (let i = n; i < d.length; i++) a0 += d[i] * 0;
  return a0 + a1 + a2 + a3 === 0;
}

/** Float dtypes are checked for NaN/Inf (integers and bools cannot hold them); the error names the tensor. */
export function assertFinite(source: string, name: string, data: Float32Array): void {
  if (allFinite(data)) return;
  const i = data.findIndex((v) => !Number.isFinite(v));
  const v = data[i];
  const what = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  throw weightsError(
    source,
    `tensor '${name}' holds ${what} (at flat index ${i}); weights must be finite numbers`,
    'the checkpoint is corrupt or its training diverged: use another checkpoint',
  );
}
