/**
 * .safetensors: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`, then the raw
 * little-endian tensor bytes (offsets relative to the end of the header).
 */
import { promises as fs } from 'fs';
import { inputError, weightsError } from '../errors';
import { TORCH_KIND, decodeElements, torchElementSize } from './elements';
import { numel, type ReadWeightsOptions, type StateDict, type TensorHeader, type TorchDType } from './state-dict';
import { assertFinite, checkTotalBytes, checkedNumel } from './limits';
import { openWeightsFile, readRange, type WeightsFile } from './weights-file';

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

async function readHeader(file: WeightsFile): Promise<{ entries: Entry[]; dataStart: number }> {
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

/** Reads every tensor of a .safetensors file, converted to float32, in header order. */
export async function readSafetensors(path: string, opts: ReadWeightsOptions = {}): Promise<StateDict> {
  const file = await openWeightsFile(path);
  try {
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
  } finally {
    await file.handle.close();
  }
}

/** fs writes may be partial and are capped near 2 GiB per call. */
async function writeAll(fh: fs.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.length - done, 1 << 30));
    done += bytesWritten;
  }
}

/** Writes a state_dict as float32 safetensors (written to a temporary name, then renamed). */
export async function writeSafetensors(path: string, sd: StateDict, dtype: 'float32' = 'float32'): Promise<void> {
  if (dtype !== 'float32') throw inputError(path, `cannot write dtype '${String(dtype)}'`, "use 'float32'");
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, t] of sd) {
    if (name === '__metadata__') throw inputError(path, "a tensor may not be named '__metadata__'");
    if (t.data.length !== numel(t.shape)) {
      throw inputError(path, `tensor '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keeps the data 8-byte aligned
  const jsonBytes = Buffer.from(json, 'utf-8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jsonBytes.length));
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await fs.open(tmp, 'w');
  try {
    await writeAll(fh, len);
    await writeAll(fh, jsonBytes);
    for (const t of sd.values()) await writeAll(fh, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  } catch (e) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fs.rename(tmp, path);
}
