/**
 * Reading .safetensors from any byte source (a file, or bytes in the browser): an 8-byte
 * little-endian header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]},
 * __metadata__?: {str: str}}`, then the raw little-endian tensor bytes (offsets relative to the end
 * of the header).
 */
import { weightsError } from '../errors';
import { TORCH_KIND, decodeElements, torchElementSize } from './elements';
import type { ReadWeightsOptions, StateDict, TensorHeader, TorchDType } from './state-dict';
import { assertFinite, checkTotalBytes, checkedNumel } from './limits';
import { readRange, type WeightsBytes } from './byte-source';

const DTYPES: Readonly<Record<string, TorchDType>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
/** The reference implementation refuses larger headers too. */
const MAX_HEADER = 100_000_000;

interface Entry {
  name: string;
  dtype: TorchDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Cheap content sniff: a plausible header length followed by '{'. */
export function looksLikeSafetensors(head: Uint8Array, fileSize: number): boolean {
  if (head.length < 9 || fileSize < 10) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  return n >= 2 && n <= Math.min(MAX_HEADER, fileSize - 8) && head[8] === 0x7b;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

async function readHeader(file: WeightsBytes): Promise<{ entries: Entry[]; dataStart: number }> {
  const bad = (problem: string) =>
    weightsError(file.path, `${problem}; the file is truncated or not a valid safetensors file`, 're-download or re-export it');
  if (file.size < 8) throw bad(`is only ${file.size} bytes long`);
  const lenBytes = await readRange(file, 0, 8, 'header length');
  const dv = new DataView(lenBytes.buffer);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (n > MAX_HEADER || 8 + n > file.size) throw bad(`header length ${n} exceeds the file size ${file.size}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readRange(file, 8, n, 'header')));
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = file.size - dataStart;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offs } = (info ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string') throw bad(`tensor '${name}' has no dtype`);
    const torchDtype = DTYPES[dtype];
    if (!torchDtype) {
      throw weightsError(
        file.path,
        `tensor '${name}' has unsupported dtype '${dtype}'`,
        `convert it to one of ${Object.keys(DTYPES).join(', ')}`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`tensor '${name}' has a malformed shape`);
    const count = checkedNumel(shape as number[], (p) => bad(`tensor '${name}' ${p}`));
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isCount)) throw bad(`tensor '${name}' has malformed data_offsets`);
    const [begin, end] = offs as [number, number];
    if (begin > end || end > dataLen) throw bad(`tensor '${name}' data_offsets [${begin}, ${end}] lie outside the ${dataLen} data bytes`);
    const want = count * torchElementSize(torchDtype);
    if (end - begin !== want) {
      throw bad(`tensor '${name}' (${dtype} [${shape.join(', ')}]) needs ${want} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, dtype: torchDtype, shape: shape as number[], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) throw bad(`tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap`);
  }
  return { entries, dataStart };
}

/** Reads every tensor of a .safetensors byte source, converted to float32, in header order. */
export async function readSafetensorsFrom(file: WeightsBytes, opts: ReadWeightsOptions = {}): Promise<StateDict> {
  const path = file.path;
  const { entries, dataStart } = await readHeader(file);
  // Non-overlapping ranges inside the file: the total is at most 4x the file's data bytes.
  checkTotalBytes(
    path,
    entries.reduce((sum, e) => sum + (4 * (e.end - e.begin)) / torchElementSize(e.dtype), 0),
  );
  opts.expect?.(new Map<string, TensorHeader>(entries.map((e) => [e.name, { dtype: e.dtype, shape: [...e.shape] }])));
  const out: StateDict = new Map();
  for (const e of entries) {
    const raw = await readRange(file, dataStart + e.begin, e.end - e.begin, `tensor '${e.name}'`);
    // `raw` is this tensor's own buffer, so float32 data can be used in place.
    const data = decodeElements(raw, TORCH_KIND[e.dtype], true, true);
    if (e.dtype.startsWith('float') || e.dtype === 'bfloat16') assertFinite(path, e.name, data);
    out.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return out;
}
