/** Writing .npy (numpy's format, version 1.0, or 2.0 for a long header) without node's Buffer: the browser page downloads maps with it too. */
import { inputError } from '../errors';
import { numel } from './state-dict';

export const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const pyTuple = (shape: readonly number[]) => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`);

/** float32 little-endian, C order, header laid out exactly as numpy.save writes it (aligned to 64 bytes). */
export function npyBytes(shape: readonly number[], data: Float32Array): Uint8Array {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw inputError('writeNpy', `bad shape [${shape.join(', ')}]`);
  }
  if (numel(shape) !== data.length) {
    throw inputError('writeNpy', `shape [${shape.join(', ')}] has ${numel(shape)} elements but data has ${data.length}`);
  }
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${pyTuple(shape)}, }`;
  // numpy leaves room to grow the first axis in place (21 digits).
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, 21 - String(shape[0]).length));
  const hlen = dict.length + 1; // + '\n'
  let version = 1;
  let prefix = 10;
  if (hlen + 64 > 0xffff) [version, prefix] = [2, 12];
  const pad = 64 - ((prefix + hlen) % 64);
  const headerLen = prefix + hlen + pad;
  const out = new Uint8Array(headerLen + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, hlen + pad, true);
  else dv.setUint32(8, hlen + pad, true);
  const text = dict + ' '.repeat(pad) + '\n';
  for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i) & 0xff; // latin1
  // float32 little-endian: copy bytewise when the host is big-endian
  const le = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (le) out.set(raw, headerLen);
  else for (let i = 0; i < data.length; i++) dv.setFloat32(headerLen + 4 * i, data[i], true);
  return out;
}
