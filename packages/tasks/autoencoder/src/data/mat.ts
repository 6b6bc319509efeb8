/**
 * A reader for MATLAB level-5 MAT-files (the format of SVHN's *_32x32.mat), enough for numeric
 * arrays: 128-byte header (text, version 0x0100, endian indicator 'IM' little / 'MI' big), then
 * data elements, each an 8-byte tag (type, byte count) and its payload. A variable is an
 * miMATRIX element (sub-elements: array flags with the class, dimensions, name, real part,
 * imaginary part) or an miCOMPRESSED element whose zlib stream inflates to one miMATRIX element.
 * Sub-elements of at most 4 bytes may use the "small" format: byte count and type packed into
 * the first 4 bytes, the data in the next 4.
 *
 * Large arrays are never inflated or read whole by the scan: listing variables reads each
 * element's header only (a few KB inflated for compressed ones), and the data is read later by
 * position (uncompressed) or inflated as a stream into a cache file or one Buffer (compressed).
 * MAT v4 and v7.3 (HDF5) files are refused with a message saying how to re-save them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { inputError } from '@dpl/core';

const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
/** Data types of sub-elements: name and bytes per value. */
const MI_TYPES: Record<number, { name: string; size: number }> = {
  1: { name: 'int8', size: 1 },
  2: { name: 'uint8', size: 1 },
  3: { name: 'int16', size: 2 },
  4: { name: 'uint16', size: 2 },
  5: { name: 'int32', size: 4 },
  6: { name: 'uint32', size: 4 },
  7: { name: 'single', size: 4 },
  9: { name: 'double', size: 8 },
  12: { name: 'int64', size: 8 },
  13: { name: 'uint64', size: 8 },
  16: { name: 'utf8', size: 1 },
  17: { name: 'utf16', size: 2 },
  18: { name: 'utf32', size: 4 },
};
/** Array classes (low byte of the array flags). */
const MX_CLASSES: Record<number, string> = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
};
const NUMERIC = new Set(['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

/** Compressed bytes inflated to read a compressed variable's header (its name, class, dims). */
const COMPRESSED_HEADER_PROBE = 4096;
/** Bytes of an uncompressed miMATRIX read to parse its header. */
const MATRIX_HEADER_PROBE = 4096;

export interface MatVariable {
  name: string;
  /** MATLAB class: 'uint8', 'double', 'cell', ... */
  className: string;
  dims: number[];
  complex: boolean;
  logical: boolean;
  compressed: boolean;
  /** Type the real part is stored as ('uint8', 'double', ...; '' for non-numeric classes). */
  storedType: string;
  /** Bytes of the real part. */
  dataBytes: number;
  /** File offset of the element's tag, and the element's size with its tag. */
  elementOffset: number;
  elementBytes: number;
  /** Uncompressed: file offset of the real part; compressed: its offset in the inflated element (tag included). */
  dataOffset: number;
}

export interface MatFile {
  file: string;
  littleEndian: boolean;
  /** The header's descriptive text. */
  text: string;
  variables: MatVariable[];
}

const bad = (file: string, problem: string, hint?: string) => inputError(file, problem, hint);
const pad8 = (n: number) => (n + 7) & ~7;

interface Tag {
  type: number;
  nbytes: number;
  /** Offset of the data. */
  data: number;
  /** Offset of the next element (padded to 8 bytes). */
  next: number;
}

function readTag(buf: Buffer, off: number, le: boolean, file: string, what: string): Tag {
  if (off + 8 > buf.length) throw bad(file, `is truncated inside the ${what}`, 'the file is incomplete: download it again');
  const first = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
  if (first >>> 16 !== 0) {
    // small data element: count in the upper 16 bits, type in the lower, data in the next 4 bytes
    return { type: first & 0xffff, nbytes: first >>> 16, data: off + 4, next: off + 8 };
  }
  const nbytes = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
  return { type: first, nbytes, data: off + 8, next: off + 8 + pad8(nbytes) };
}

/**
 * Parses an miMATRIX body (what follows its tag) up to the start of the real part. `body` may
 * be a prefix of the body: the header sub-elements must be in it.
 */
function parseMatrixHeader(
  body: Buffer,
  bodyBytes: number,
  le: boolean,
  file: string,
): Omit<MatVariable, 'compressed' | 'elementOffset' | 'elementBytes' | 'dataOffset'> & { dataRel: number } {
  if (bodyBytes === 0)
    return { name: '', className: 'empty', dims: [0, 0], complex: false, logical: false, storedType: '', dataBytes: 0, dataRel: 0 };
  const u32 = (o: number) => (le ? body.readUInt32LE(o) : body.readUInt32BE(o));
  const flagsTag = readTag(body, 0, le, file, 'array flags');
  if (flagsTag.type !== 6 || flagsTag.nbytes !== 8)
    throw bad(
      file,
      `has a variable whose array-flags sub-element is malformed (type ${flagsTag.type}, ${flagsTag.nbytes} bytes)`,
      'check that this is a MATLAB v5 MAT-file',
    );
  const flags = u32(flagsTag.data);
  const classId = flags & 0xff;
  const className = MX_CLASSES[classId] ?? `class ${classId}`;
  const dimsTag = readTag(body, flagsTag.next, le, file, 'dimensions');
  if (dimsTag.type !== 5 || dimsTag.nbytes % 4 !== 0)
    throw bad(
      file,
      `has a variable whose dimensions sub-element is malformed (type ${dimsTag.type})`,
      'check that this is a MATLAB v5 MAT-file',
    );
  const dims: number[] = [];
  for (let i = 0; i < dimsTag.nbytes / 4; i++)
    dims.push(le ? body.readInt32LE(dimsTag.data + 4 * i) : body.readInt32BE(dimsTag.data + 4 * i));
  const nameTag = readTag(body, dimsTag.next, le, file, 'array name');
  if (nameTag.data + nameTag.nbytes > body.length)
    throw bad(file, 'has a variable name that runs past the end of the file', 'the file is incomplete: download it again');
  const name = body.subarray(nameTag.data, nameTag.data + nameTag.nbytes).toString('latin1');
  const common = { name, className, dims, complex: (flags & 0x800) !== 0, logical: (flags & 0x200) !== 0 };
  if (!NUMERIC.has(className)) return { ...common, storedType: '', dataBytes: 0, dataRel: nameTag.next };
  const realTag = readTag(body, nameTag.next, le, file, `real part of '${name}'`);
  const t = MI_TYPES[realTag.type];
  if (!t) throw bad(file, `variable '${name}' stores its data as unknown type ${realTag.type}`, 'check that this is a MATLAB v5 MAT-file');
  return { ...common, storedType: t.name, dataBytes: realTag.nbytes, dataRel: realTag.data };
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Inflates a zlib prefix as far as it goes (no error at the cut). */
function inflatePrefix(compressed: Buffer, file: string, name: string): Buffer {
  try {
    return zlib.inflateSync(compressed, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (e) {
    throw bad(
      file,
      `has a compressed variable${name} that does not inflate (${(e as Error).message})`,
      'the file is damaged: download it again',
    );
  }
}

/** Reads the header and every variable's header (no array data). */
export function readMatFile(file: string): MatFile {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw bad(file, `cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'check the path');
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = readAt(fd, 0, Math.min(size, 128));
    const text = head
      .subarray(0, 116)
      .toString('latin1')
      .replace(/[\0 ]+$/, '');
    const hdf = size >= 516 && readAt(fd, 512, 4).toString('latin1') === '\x89HDF';
    if (text.startsWith('MATLAB 7.3') || hdf) {
      throw bad(
        file,
        'is a MATLAB v7.3 (HDF5) MAT-file; only level-5 MAT-files (v5 / v6 / v7) are read',
        "re-save it in MATLAB with save(..., '-v7') or in Python with scipy.io.savemat",
      );
    }
    if (size < 128)
      throw bad(file, `is ${size} bytes, too short for a MAT-file header (128 bytes)`, 'check that this is a MATLAB .mat file, complete');
    const endian = head.subarray(126, 128).toString('latin1');
    if (endian !== 'IM' && endian !== 'MI') {
      throw bad(
        file,
        'is not a level-5 MAT-file (no endian indicator at byte 126; a MAT v4 file or another format)',
        "re-save it with MATLAB save(..., '-v7') or scipy.io.savemat",
      );
    }
    const le = endian === 'IM';
    const variables: MatVariable[] = [];
    let pos = 128;
    while (pos + 8 <= size) {
      const tag = readTag(readAt(fd, pos, 8), 0, le, file, `element at byte ${pos}`);
      const small = tag.next === 8 && tag.data === 4;
      const elementBytes = small ? 8 : 8 + tag.nbytes;
      if (pos + elementBytes > size) {
        throw bad(
          file,
          `is truncated: the element at byte ${pos} needs ${elementBytes} bytes, ${size - pos} remain`,
          'the file is incomplete: download it again',
        );
      }
      if (tag.type === MI_MATRIX && !small) {
        const body = readAt(fd, pos + 8, Math.min(tag.nbytes, MATRIX_HEADER_PROBE));
        const h = parseMatrixHeader(body, tag.nbytes, le, file);
        if (h.dataRel + h.dataBytes > tag.nbytes)
          throw bad(
            file,
            `variable '${h.name}' claims ${h.dataBytes} data bytes, more than its element holds`,
            'the file is damaged: download it again',
          );
        const { dataRel, ...rest } = h;
        variables.push({ ...rest, compressed: false, elementOffset: pos, elementBytes, dataOffset: pos + 8 + dataRel });
      } else if (tag.type === MI_COMPRESSED && !small) {
        const inflated = inflatePrefix(readAt(fd, pos + 8, Math.min(tag.nbytes, COMPRESSED_HEADER_PROBE)), file, ` at byte ${pos}`);
        const inner = readTag(inflated, 0, le, file, `compressed element at byte ${pos}`);
        if (inner.type !== MI_MATRIX)
          throw bad(
            file,
            `has a compressed element at byte ${pos} holding type ${inner.type}, not a matrix`,
            'check that this is a MATLAB v5 MAT-file',
          );
        const h = parseMatrixHeader(inflated.subarray(8), inner.nbytes, le, file);
        const { dataRel, ...rest } = h;
        variables.push({ ...rest, compressed: true, elementOffset: pos, elementBytes, dataOffset: 8 + dataRel });
      }
      // other top-level elements (none in practice) are skipped
      // MATLAB pads miMATRIX payloads to 8 bytes itself; compressed payloads are not padded
      pos += elementBytes;
    }
    return { file, littleEndian: le, text, variables };
  } finally {
    fs.closeSync(fd);
  }
}

/** The variable `name`, or an error naming the file and the variables it has. */
export function findVariable(mat: MatFile, name: string, hint?: string): MatVariable {
  const v = mat.variables.find((x) => x.name === name);
  if (v) return v;
  const found = mat.variables.map((x) => `${x.name} (${x.className} ${x.dims.join('x')})`);
  throw bad(
    mat.file,
    `has no variable '${name}'; it holds ${found.length ? found.join(', ') : 'no variables'}`,
    hint ?? `use a file with a variable named '${name}'`,
  );
}

/** Random access to the bytes of a variable's real part. */
export interface ByteSource {
  readonly length: number;
  /** Copies `length` bytes from `offset` into `into` (at 0). */
  read(offset: number, length: number, into: Buffer): void;
  close(): void;
}

function fileSource(file: string, start: number, length: number): ByteSource {
  let fd: number | null = fs.openSync(file, 'r');
  return {
    length,
    read(offset, n, into) {
      if (fd === null) throw bad(file, 'was closed', 'open the data set again');
      if (offset < 0 || offset + n > length)
        throw bad(file, `read of bytes ${offset}..${offset + n} is outside the array (${length} bytes)`);
      let got = 0;
      while (got < n) {
        const r = fs.readSync(fd, into, got, n - got, start + offset + got);
        if (r === 0) throw bad(file, `ended inside the array (byte ${start + offset + got})`, 'the file changed or is truncated');
        got += r;
      }
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}

function bufferSource(buf: Buffer): ByteSource {
  return {
    length: buf.length,
    read(offset, n, into) {
      buf.copy(into, 0, offset, offset + n);
    },
    close: () => undefined,
  };
}

/** Streams the inflated element, passing each piece of the real part to `sink` in order. */
async function inflateData(file: string, v: MatVariable, sink: (piece: Buffer) => void): Promise<void> {
  const src = fs.createReadStream(file, { start: v.elementOffset + 8, end: v.elementOffset + v.elementBytes - 1 });
  const inflate = zlib.createInflate();
  src.on('error', (e) => inflate.destroy(e));
  src.pipe(inflate);
  const start = v.dataOffset;
  const end = start + v.dataBytes;
  let pos = 0;
  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      const lo = Math.max(start, pos);
      const hi = Math.min(end, pos + chunk.length);
      if (hi > lo) sink(chunk.subarray(lo - pos, hi - pos));
      pos += chunk.length;
      if (pos >= end) break;
    }
  } catch (e) {
    throw bad(file, `variable '${v.name}' does not inflate (${(e as Error).message})`, 'the file is damaged: download it again');
  } finally {
    src.destroy();
    inflate.destroy();
  }
  if (pos < end)
    throw bad(
      file,
      `variable '${v.name}' inflates to ${pos} bytes, its data needs ${end}`,
      'the file is damaged or incomplete: download it again',
    );
}

/**
 * Random access to variable `v`'s real part. Uncompressed: reads from the .mat file by position.
 * Compressed: inflated once, as a stream, into `cacheDir` (reused while the .mat file's size and
 * mtime are unchanged) or, without a cacheDir, into one Buffer.
 */
export async function openVariableBytes(mat: MatFile, v: MatVariable, cacheDir?: string): Promise<ByteSource> {
  if (!v.compressed) return fileSource(mat.file, v.dataOffset, v.dataBytes);
  if (!cacheDir) {
    const buf = Buffer.allocUnsafe(v.dataBytes);
    let at = 0;
    await inflateData(mat.file, v, (p) => {
      p.copy(buf, at);
      at += p.length;
    });
    return bufferSource(buf);
  }
  const st = fs.statSync(mat.file);
  fs.mkdirSync(cacheDir, { recursive: true });
  const cache = path.join(cacheDir, `${path.basename(mat.file)}.${v.name}.${st.size}-${Math.floor(st.mtimeMs)}.u8`);
  if (!(fs.existsSync(cache) && fs.statSync(cache).size === v.dataBytes)) {
    const tmp = `${cache}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w');
    try {
      await inflateData(mat.file, v, (p) => {
        fs.writeSync(fd, p);
      });
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, cache);
  }
  return fileSource(cache, 0, v.dataBytes);
}

/** The real part of a (small) numeric variable as numbers, column-major as stored. */
export async function readNumeric(mat: MatFile, v: MatVariable): Promise<Float64Array> {
  const t = Object.values(MI_TYPES).find((x) => x.name === v.storedType);
  if (!t || !NUMERIC.has(v.className))
    throw bad(mat.file, `variable '${v.name}' is of class ${v.className}, not a numeric array`, 'use a numeric array');
  if (v.dataBytes % t.size !== 0)
    throw bad(mat.file, `variable '${v.name}' has ${v.dataBytes} bytes of ${t.name}, not a whole number of values`);
  const src = await openVariableBytes(mat, v);
  const buf = Buffer.alloc(v.dataBytes);
  try {
    src.read(0, v.dataBytes, buf);
  } finally {
    src.close();
  }
  const n = v.dataBytes / t.size;
  const out = new Float64Array(n);
  const le = mat.littleEndian;
  for (let i = 0; i < n; i++) {
    const o = i * t.size;
    switch (t.name) {
      case 'int8':
        out[i] = buf.readInt8(o);
        break;
      case 'uint8':
        out[i] = buf[o];
        break;
      case 'int16':
        out[i] = le ? buf.readInt16LE(o) : buf.readInt16BE(o);
        break;
      case 'uint16':
        out[i] = le ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
        break;
      case 'int32':
        out[i] = le ? buf.readInt32LE(o) : buf.readInt32BE(o);
        break;
      case 'uint32':
        out[i] = le ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
        break;
      case 'single':
        out[i] = le ? buf.readFloatLE(o) : buf.readFloatBE(o);
        break;
      case 'double':
        out[i] = le ? buf.readDoubleLE(o) : buf.readDoubleBE(o);
        break;
      case 'int64':
        out[i] = Number(le ? buf.readBigInt64LE(o) : buf.readBigInt64BE(o));
        break;
      case 'uint64':
        out[i] = Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
        break;
      default:
        throw bad(mat.file, `variable '${v.name}' stores numbers as ${t.name}`);
    }
  }
  return out;
}
