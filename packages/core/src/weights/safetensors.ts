/**
 * .safetensors: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`, then the raw
 * little-endian tensor bytes (offsets relative to the end of the header).
 */
import { promises as fs } from 'fs';
import { inputError } from '../errors';
import { numel, type ReadWeightsOptions, type StateDict } from './state-dict';
import { readSafetensorsFrom } from './safetensors-read';
import { openWeightsFile } from './weights-file';

export { looksLikeSafetensors } from './safetensors-read';

/** Reads every tensor of a .safetensors file, converted to float32, in header order. */
export async function readSafetensors(path: string, opts: ReadWeightsOptions = {}): Promise<StateDict> {
  const file = await openWeightsFile(path);
  try {
    return await readSafetensorsFrom(file, opts);
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
