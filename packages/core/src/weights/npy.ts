/**
 * NumPy .npy arrays (format versions 1.0 - 3.0): read any plain numeric dtype as float32, write
 * float32 byte-identical to `numpy.save`.
 */
import { inputError } from '../errors';
import { openRegularFile } from '../util/regular-file';
import { ELEMENT_SIZE, decodeElements, gatherStrided, type ElementKind } from './elements';
import { checkedNumel } from './limits';
import { MAGIC, npyBytes } from './npy-write';

/** An array read from a .npy file: its dtype, shape and order, and its data as float32 in C order. */
export interface NpyArray {
  /** The header's descr, e.g. '<f4', '<f8', '<i8', '|u1', '|b1'. */
  dtype: string;
  shape: number[];
  /** Whether the file stored the data in Fortran order; `data` is always C order. */
  fortranOrder: boolean;
  data: Float32Array;
}

/** numpy.save writes a few hundred bytes (version 1 allows 64 KiB); longer is not a plain array. */
export const MAX_NPY_HEADER = 65536;
/** A plain array's header is a dict holding a tuple: depth 2. */
const MAX_HEADER_DEPTH = 4;

type Literal = string | number | boolean | null | Literal[] | { [key: string]: Literal };

/** Parses the Python dict literal of an npy header; never evaluates anything. */
function parseHeader(text: string, fail: (p: string) => Error): Literal {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (depth: number): Literal => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw fail('has a malformed header (unterminated string)');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[' || c === '{') {
      if (depth >= MAX_HEADER_DEPTH) throw fail(`has a malformed header (nested more than ${MAX_HEADER_DEPTH} deep)`);
      const close = c === '(' ? ')' : c === '[' ? ']' : '}';
      i++;
      const items: Literal[] = [];
      // No prototype: a key like '__proto__' stays an ordinary key.
      const dict = Object.create(null) as { [key: string]: Literal };
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return c === '{' ? dict : items;
        }
        const v = value(depth + 1);
        if (c === '{') {
          ws();
          if (typeof v !== 'string' || text[i] !== ':') throw fail('has a malformed header (bad dict entry)');
          i++;
          dict[v] = value(depth + 1);
        } else items.push(v);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) throw fail(`has a malformed header (unexpected '${text[i] ?? 'end'}')`);
      }
    }
    const m = /^(True|False|None|-?\d+)L?/.exec(text.slice(i));
    if (!m) throw fail(`has a malformed header (unexpected '${c ?? 'end'}')`);
    i += m[0].length;
    return m[1] === 'True' ? true : m[1] === 'False' ? false : m[1] === 'None' ? null : Number(m[1]);
  };
  const v = value(0);
  ws();
  if (i !== text.length) throw fail('has a malformed header (trailing characters)');
  return v;
}

/** What an .npy header declares; `dataStart + dataBytes` must be the file's exact length. */
export interface NpyHeader {
  dtype: string;
  kind: ElementKind;
  littleEndian: boolean;
  shape: number[];
  fortranOrder: boolean;
  dataStart: number;
  dataBytes: number;
}

/** Parses an .npy header from the file's first bytes (at most 12 + MAX_NPY_HEADER are needed). */
export function readNpyHeader(buf: Uint8Array, name: string): NpyHeader {
  const fail = (problem: string, hint?: string) => inputError(name, problem, hint ?? 'save it with numpy.save');
  if (buf.length < 10 || MAGIC.some((b, k) => buf[k] !== b)) {
    throw fail('is not an .npy file (missing the \\x93NUMPY magic)', 'save it with numpy.save');
  }
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) [headerLen, headerStart] = [dv.getUint16(8, true), 10];
  else if (major === 2 || major === 3) {
    if (buf.length < 12) throw fail('is truncated (incomplete header)');
    [headerLen, headerStart] = [dv.getUint32(8, true), 12];
  } else throw fail(`has unsupported .npy format version ${major}.${buf[7]}`);
  if (headerLen > MAX_NPY_HEADER) throw fail(`has a ${headerLen}-byte header (at most ${MAX_NPY_HEADER}); not a plain numeric array`);
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) throw fail('is truncated (incomplete header)');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(headerStart, dataStart));
  const header = parseHeader(text, fail);
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw fail('has a malformed header (not a dict)');
  const { descr, fortran_order: fortran, shape } = header;
  if (typeof descr !== 'string') {
    throw fail('has a structured dtype, which is not supported', 'save a plain numeric array');
  }
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const kind = (m ? m[2] + m[3] : '') as ElementKind; // 'f4', 'i8', 'u1', 'b1', ...
  if (!m || !Object.prototype.hasOwnProperty.call(ELEMENT_SIZE, kind)) {
    throw fail(`has unsupported dtype '${descr}'`, 'save it as float32, float64, float16 or an integer/bool type');
  }
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw fail('has a malformed header (bad shape)');
  }
  if (typeof fortran !== 'boolean') throw fail('has a malformed header (bad fortran_order)');
  const dims = shape as number[];
  const n = checkedNumel(dims, (p) => fail(`header ${p}`));
  return {
    dtype: descr,
    kind,
    littleEndian: m[1] !== '>',
    shape: [...dims],
    fortranOrder: fortran,
    dataStart,
    dataBytes: n * ELEMENT_SIZE[kind],
  };
}

function checkDataLength(h: NpyHeader, got: number, name: string): void {
  if (got !== h.dataBytes) {
    throw inputError(
      name,
      got < h.dataBytes
        ? `is truncated: shape [${h.shape.join(', ')}] of ${h.dtype} needs ${h.dataBytes} data bytes, file has ${got}`
        : `has ${got - h.dataBytes} bytes after the data of shape [${h.shape.join(', ')}] (${h.dtype}); wrong length`,
      'save it again with numpy.save',
    );
  }
}

/** Reads an .npy file's bytes; `name` (the file) appears in every error. */
export function readNpy(buf: Uint8Array, name: string): NpyArray {
  const h = readNpyHeader(buf, name);
  checkDataLength(h, buf.length - h.dataStart, name);
  const dims = h.shape;
  let data = decodeElements(buf.subarray(h.dataStart), h.kind, h.littleEndian);
  if (h.fortranOrder && dims.length > 1) {
    // Fortran order: first index fastest, i.e. C order of the reversed shape.
    const strides: number[] = [];
    let s = 1;
    for (const d of dims) {
      strides.push(s);
      s *= d;
    }
    data = gatherStrided(data, 0, dims, strides);
  }
  return { dtype: h.dtype, shape: [...dims], fortranOrder: h.fortranOrder, data };
}

/**
 * Reads an .npy file from disk: only a regular file; its header is parsed and `check`ed (e.g.
 * shape limits) and the data length compared with the header before the data is read.
 */
export async function readNpyFile(path: string, check?: (h: NpyHeader) => void): Promise<NpyArray> {
  const { handle, size } = await openRegularFile(path, 'an .npy file', inputError);
  try {
    const headLen = Math.min(size, 12 + MAX_NPY_HEADER);
    const head = new Uint8Array(headLen);
    await handle.read(head, 0, headLen, 0);
    const h = readNpyHeader(head, path);
    checkDataLength(h, size - h.dataStart, path);
    check?.(h);
    const buf = new Uint8Array(new ArrayBuffer(size));
    for (let done = 0; done < size;) {
      const { bytesRead } = await handle.read(buf, done, Math.min(size - done, 1 << 30), done);
      if (bytesRead === 0) throw inputError(path, 'changed while it was being read', 'read it again');
      done += bytesRead;
    }
    return readNpy(buf, path);
  } finally {
    await handle.close();
  }
}

/** A float32 array as .npy bytes (a Buffer, for node callers; npyBytes in npy-write.ts is the same without Buffer). */
export function writeNpy(shape: readonly number[], data: Float32Array): Buffer {
  const bytes = npyBytes(shape, data);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
