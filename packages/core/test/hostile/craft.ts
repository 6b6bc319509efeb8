/**
 * Hand-built hostile inputs, byte by byte: PyTorch checkpoints (zip and legacy format) whose
 * pickles describe any tensor view at all, zips with any entry names and declared sizes, .npy
 * files with any header, and PNGs whose header claims any size. Nothing here uses torch, so every
 * malicious shape is possible; fixtures.py covers what torch itself writes.
 */
import * as zlib from 'zlib';

// ---------------------------------------------------------------------------------------------
// Pickle (protocol 2) writer for state_dicts of tensors.

const latin1 = (s: string) => [...Buffer.from(s, 'latin1')];

export function pInt(v: number | bigint): number[] {
  if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return [0x4a, ...b]; // BININT
  }
  // LONG1: little-endian two's complement
  let x = BigInt(v);
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) {
    bytes.push(Number(x & 0xffn));
    x >>= 8n;
  }
  while (bytes.length > 1 && bytes[bytes.length - 1] === 0 && !(bytes[bytes.length - 2] & 0x80)) bytes.pop();
  return [0x8a, bytes.length, ...bytes];
}

export const pStr = (s: string) => {
  const b = Buffer.from(s, 'utf-8');
  const n = Buffer.alloc(4);
  n.writeUInt32LE(b.length);
  return [0x58, ...n, ...b]; // BINUNICODE
};
export const pGlobal = (module: string, name: string) => [0x63, ...latin1(`${module}\n${name}\n`)];
const pTuple = (items: number[][]) => [0x28, ...items.flat(), 0x74]; // MARK ... TUPLE

export interface CraftTensor {
  name: string;
  /** Storage key (zip: data/<key>); tensors may share one. */
  key: string;
  storageNumel: number | bigint;
  shape: (number | bigint)[];
  stride: (number | bigint)[];
  offset?: number;
  storageClass?: string;
}

/** The object pickle of a state_dict: {name: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}. */
export function stateDictPickle(tensors: CraftTensor[], legacy = false): Buffer {
  const out: number[] = [0x80, 0x02, 0x7d, 0x28]; // PROTO 2, EMPTY_DICT, MARK
  for (const t of tensors) {
    const pid = pTuple([
      pStr('storage'),
      pGlobal('torch', t.storageClass ?? 'FloatStorage'),
      pStr(t.key),
      pStr('cpu'),
      pInt(t.storageNumel),
      ...(legacy ? [[0x4e]] : []), // view metadata None
    ]);
    out.push(...pStr(t.name));
    out.push(...pGlobal('torch._utils', '_rebuild_tensor_v2'));
    out.push(
      ...pTuple([
        [...pid, 0x51], // BINPERSID
        pInt(t.offset ?? 0),
        pTuple(t.shape.map(pInt)),
        pTuple(t.stride.map(pInt)),
        [0x89], // False
        [...pGlobal('collections', 'OrderedDict'), 0x29, 0x52], // OrderedDict()
      ]),
    );
    out.push(0x52); // REDUCE
  }
  out.push(0x75, 0x2e); // SETITEMS, STOP
  return Buffer.from(out);
}

// ---------------------------------------------------------------------------------------------
// Zip writer (stored entries), able to lie about names and sizes.

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** Sizes written in the headers (default: the real length). */
  declaredSize?: number;
}

export function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf-8');
    const size = e.declaredSize ?? e.data.length;
    const crc = zlib.crc32(e.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x0800, 6); // UTF-8 names
    lh.writeUInt16LE(0, 8); // stored
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(size, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(0, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(size, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    locals.push(lh, name, e.data);
    centrals.push(cd, name);
    offset += 30 + name.length + e.data.length;
  }
  const cdBuf = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBuf.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBuf, eocd]);
}

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

/** A zip-format .pth: archive/data.pkl, archive/data/<key> per storage, archive/version. */
export function zipPth(tensors: CraftTensor[], storages: Record<string, Buffer>, opts: { pickle?: Buffer } = {}): Buffer {
  return zip([
    { name: 'archive/data.pkl', data: opts.pickle ?? stateDictPickle(tensors) },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

/** A legacy-format .pth: magic, protocol, sys info, object pickle, key list, then per storage int64 count + bytes. */
export function legacyPth(tensors: CraftTensor[], storages: Record<string, { count: number | bigint; data: Buffer }>): Buffer {
  const stop = (b: number[]) => Buffer.from([0x80, 0x02, ...b, 0x2e]);
  const magic = stop(pInt(0x1950a86a20f9469cfc6cn));
  const proto = stop(pInt(1001));
  const sys = stop([0x7d, 0x28, ...pStr('protocol_version'), ...pInt(1001), ...pStr('little_endian'), 0x88, 0x75]);
  const keys = stop([0x5d, 0x28, ...Object.keys(storages).flatMap(pStr), 0x65]);
  const parts = [magic, proto, sys, stateDictPickle(tensors, true), keys];
  for (const { count, data } of Object.values(storages)) {
    const n = Buffer.alloc(8);
    n.writeBigInt64LE(BigInt(count));
    parts.push(n, data);
  }
  return Buffer.concat(parts);
}

/** One float32 tensor 'w' of `values`, contiguous. */
export const oneTensor = (values: number[]): { tensors: CraftTensor[]; storages: Record<string, Buffer> } => ({
  tensors: [{ name: 'w', key: '0', storageNumel: values.length, shape: [values.length], stride: [1] }],
  storages: { '0': f32(values) },
});

export { f32 };

// ---------------------------------------------------------------------------------------------
// .npy and PNG

/** An .npy with the given header text (padded as numpy does) and data bytes. */
export function npy(header: string, data: Buffer, version = 1): Buffer {
  const prefix = version === 1 ? 10 : 12;
  let text = header;
  const pad = (64 - ((prefix + text.length + 1) % 64)) % 64;
  text += ' '.repeat(pad) + '\n';
  const head = Buffer.alloc(prefix);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(text.length, 8);
  else head.writeUInt32LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1'), data]);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * A real, valid 1-bit grayscale PNG of width x height, all black: a decompression bomb (16000 x
 * 16000 is a few tens of KB on disk, 256 megapixels decoded). Rows are deflated one at a time.
 */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const rowBytes = 1 + Math.ceil(width / 8); // filter byte 0 + zero bits
  // Blocks of up to 1024 zero rows are deflated separately, so the image never sits in memory.
  const raw = Buffer.alloc(rowBytes * Math.min(height, 1024));
  const blocks = Math.ceil(height / 1024);
  let left = height;
  const out: Buffer[] = [];
  for (let b = 0; b < blocks; b++) {
    const rows = Math.min(left, 1024);
    left -= rows;
    out.push(zlib.deflateRawSync(raw.subarray(0, rows * rowBytes), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH }));
  }
  // A raw deflate stream of sync-flushed blocks, closed by an empty final block, wrapped as zlib.
  const body = Buffer.concat([...out, Buffer.from([0x03, 0x00])]);
  const adler = adler32Zeros(rowBytes * height);
  const idat = Buffer.concat([Buffer.from([0x78, 0xda]), body, adler]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Adler-32 of n zero bytes: a = 1, b = n mod 65521. */
function adler32Zeros(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(((n % 65521) * 65536 + 1) >>> 0);
  return b;
}
