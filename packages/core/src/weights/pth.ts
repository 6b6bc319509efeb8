/**
 * PyTorch checkpoint reader: the zip format (torch >= 1.6) and the legacy format
 * (torch < 1.6, or `_use_new_zipfile_serialization=False`). Both pickle the object with
 * persistent ids naming storages whose raw bytes sit outside the pickle; see pickle.ts for
 * why loading one can never run code.
 */
import * as yauzl from 'yauzl';
import { weightsError } from '../errors';
import type { ReadWeightsOptions, StateDict, TensorHeader, TensorRecord, TorchDType } from './state-dict';
import { PyDict, TorchStorageRef, TorchTensorRef, describePy, showPy, unpickle, type PyValue } from './pickle';
import { TORCH_KIND, decodeElements, gatherStrided, isContiguous, torchElementSize } from './elements';
import { MAX_ELEMENTS, assertFinite, checkTotalBytes, checkView, fmtBytes, maxWeightsBytes } from './limits';
import { openWeightsFile, readRange, readWhole, type WeightsFile } from './weights-file';

const REDOWNLOAD = 're-download it';
/** A state_dict pickle is kilobytes to a few MB (names and shapes only); more is not a checkpoint. */
const MAX_PICKLE_BYTES = 64 * 1024 ** 2;
/** torch writes one zip entry per storage plus three; this bounds the central directory walk. */
const MAX_ZIP_ENTRIES = 200_000;
const notACheckpoint = (path: string, detail: string) =>
  weightsError(path, `is truncated or not a valid PyTorch checkpoint; ${REDOWNLOAD} (${detail})`);

/** Reads a .pth/.pt checkpoint holding a state_dict (possibly under 'state_dict' or 'model'). */
export async function readPth(path: string, opts: ReadWeightsOptions = {}): Promise<StateDict> {
  const file = await openWeightsFile(path);
  try {
    if (file.size === 0) throw weightsError(path, 'is empty (0 bytes)', REDOWNLOAD);
    const head = await readRange(file, 0, Math.min(4, file.size), 'header');
    if (head[0] === 0x50 && head[1] === 0x4b) return await readZipPth(file, opts); // 'PK'
    if (head[0] === 0x80 && head.length > 1 && head[1] >= 2 && head[1] <= 5) return await readLegacyPth(file, opts);
    throw weightsError(
      path,
      'is not a PyTorch checkpoint (neither the zip format nor the legacy pickle format)',
      'pass a file written by torch.save, or a .safetensors file',
    );
  } finally {
    await file.handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Zip format: <prefix>/data.pkl, <prefix>/data/<key> (one entry per storage), <prefix>/byteorder.

/** A zip entry name that could write outside a folder if extracted: absolute, '..', backslashes, NUL. */
const traversing = (name: string) =>
  name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\') || name.includes('\0') || name.split('/').includes('..');

function openZip(file: WeightsFile): Promise<{ zip: yauzl.ZipFile; entries: Map<string, yauzl.Entry> }> {
  const path = file.path;
  return new Promise((resolve, reject) => {
    // Our own descriptor (already checked to be a regular file). It belongs to file.handle, which
    // readPth closes: zip.close() is never called, as it would close the descriptor a second time.
    yauzl.fromFd(file.handle.fd, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(notACheckpoint(path, err?.message ?? 'unreadable zip'));
      if (zip.entryCount > MAX_ZIP_ENTRIES) {
        return reject(notACheckpoint(path, `${zip.entryCount} zip entries, more than any checkpoint has`));
      }
      const entries = new Map<string, yauzl.Entry>();
      let failed = false;
      const refuse = (e: Error) => {
        failed = true;
        reject(e);
      };
      zip.on('entry', (e: yauzl.Entry) => {
        if (traversing(e.fileName)) {
          return refuse(
            weightsError(
              path,
              `has a zip entry named '${e.fileName}' that points outside the archive; refusing it`,
              'use a file written by torch.save',
            ),
          );
        }
        if (entries.has(e.fileName)) {
          return refuse(
            weightsError(
              path,
              `has two zip entries named '${e.fileName}'; refusing an ambiguous archive`,
              'use a file written by torch.save',
            ),
          );
        }
        entries.set(e.fileName, e);
        if (!failed) zip.readEntry();
      });
      zip.on('end', () => resolve({ zip, entries }));
      zip.on('error', (e: Error) => refuse(notACheckpoint(path, e.message)));
      zip.readEntry();
    });
  });
}

/** Reads one entry, refusing it first unless it declares exactly `expected` bytes (or at most `max`). */
async function readZipEntry(
  file: WeightsFile,
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  size: { expected?: number; max?: number },
): Promise<Uint8Array> {
  const what = `zip entry '${entry.fileName}'`;
  if (entry.isEncrypted()) throw weightsError(file.path, `${what} is encrypted`, 'save the checkpoint again with torch.save');
  if (size.expected !== undefined && entry.uncompressedSize !== size.expected) {
    throw notACheckpoint(file.path, `${what} declares ${entry.uncompressedSize} bytes where its storage needs ${size.expected}`);
  }
  if (size.max !== undefined && entry.uncompressedSize > size.max) {
    throw notACheckpoint(
      file.path,
      `${what} declares ${fmtBytes(entry.uncompressedSize)}, more than the ${fmtBytes(size.max)} it may hold`,
    );
  }
  if (entry.compressionMethod === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw notACheckpoint(
        file.path,
        `${what} is stored uncompressed but declares ${entry.compressedSize} and ${entry.uncompressedSize} bytes`,
      );
    }
    // Stored (torch never compresses): read the bytes straight into their own aligned buffer.
    const lfh = await readRange(file, entry.relativeOffsetOfLocalHeader, 30, what);
    const dv = new DataView(lfh.buffer);
    if (dv.getUint32(0, true) !== 0x04034b50) throw notACheckpoint(file.path, `bad local header for ${what}`);
    const start = entry.relativeOffsetOfLocalHeader + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
    if (start + entry.compressedSize > file.size) throw notACheckpoint(file.path, `${what} runs past the end of the file`);
    return readRange(file, start, entry.compressedSize, what);
  }
  if (entry.compressionMethod !== 8) {
    throw weightsError(file.path, `${what} uses unsupported zip compression method ${entry.compressionMethod}`);
  }
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(notACheckpoint(file.path, err?.message ?? `cannot read ${what}`));
      const out = new Uint8Array(new ArrayBuffer(entry.uncompressedSize));
      let at = 0;
      stream.on('data', (chunk: Buffer) => {
        if (at + chunk.length <= out.length) out.set(chunk, at);
        at += chunk.length;
      });
      stream.on('error', (e: Error) => reject(notACheckpoint(file.path, `${what}: ${e.message}`)));
      stream.on('end', () =>
        at === out.length
          ? resolve(out)
          : reject(notACheckpoint(file.path, `${what} holds ${at} bytes, not the ${out.length} it declares`)),
      );
    });
  });
}

async function readZipPth(file: WeightsFile, opts: ReadWeightsOptions): Promise<StateDict> {
  const { zip, entries } = await openZip(file);
  const pkls = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length === 0) {
    throw weightsError(file.path, 'is a zip file without a data.pkl, not a PyTorch checkpoint', 'pass a file written by torch.save');
  }
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  if ([...entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw weightsError(
      file.path,
      'is a TorchScript archive (torch.jit.save), not a state_dict checkpoint',
      'save model.state_dict() with torch.save instead',
    );
  }
  const source = `${file.path} (${pkls[0]})`;
  const pkl = await readZipEntry(file, zip, entries.get(pkls[0]) as yauzl.Entry, { max: MAX_PICKLE_BYTES });
  const parsed = unpickle(pkl, { source, persistent: true });
  const order = entries.get(`${prefix}byteorder`);
  const littleEndian = order ? new TextDecoder().decode(await readZipEntry(file, zip, order, { max: 16 })).trim() !== 'big' : true;
  const tensors = selectStateDict(parsed.value, source);
  plan(source, tensors, opts);
  const bytes = new Map<string, Uint8Array>();
  for (const t of tensors.values()) {
    const key = t.storage.key;
    if (bytes.has(key)) continue;
    const entry = entries.get(`${prefix}data/${key}`);
    if (!entry) throw notACheckpoint(file.path, `storage '${prefix}data/${key}' is missing`);
    bytes.set(key, await readZipEntry(file, zip, entry, { expected: storageBytes(t.storage) }));
  }
  return materialize(source, tensors, bytes, littleEndian);
}

// ---------------------------------------------------------------------------------------------
// Legacy format: magic-number pickle, protocol-version pickle, sys-info pickle, the object
// pickle, the pickle of storage keys, then per key an int64 element count and the raw bytes.

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

async function readLegacyPth(file: WeightsFile, opts: ReadWeightsOptions): Promise<StateDict> {
  const source = file.path;
  // The legacy format holds its storages inline: the file is about as large as its raw data.
  checkTotalBytes(source, file.size, maxWeightsBytes(), 'holds');
  const data = await readWhole(file);
  const first = unpickle(data, { source });
  if (first.value !== LEGACY_MAGIC) {
    throw weightsError(source, 'is a pickle but not a PyTorch checkpoint (no torch magic number)', 'pass a file written by torch.save');
  }
  const proto = unpickle(data, { source, start: first.end });
  if (proto.value !== LEGACY_PROTOCOL) throw weightsError(source, `unsupported legacy protocol version ${showPy(proto.value)}`);
  const sys = unpickle(data, { source, start: proto.end });
  const le = sys.value instanceof PyDict ? sys.value.items.get('little_endian') : undefined;
  const littleEndian = le !== false;
  const obj = unpickle(data, { source, start: sys.end, persistent: true });
  const tensors = selectStateDict(obj.value, source);
  plan(source, tensors, opts);
  const keys = unpickle(data, { source, start: obj.end });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw notACheckpoint(source, 'storage key list missing');
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const ref = obj.storages.get(key);
    if (!ref) throw notACheckpoint(source, `storage '${key}' is listed but never referenced`);
    if (pos + 8 > data.length) throw notACheckpoint(source, `storage '${key}' is missing (file ends at byte ${data.length})`);
    const count = Number(dv.getBigInt64(pos, littleEndian));
    const len = count * torchElementSize(ref.dtype);
    pos += 8;
    if (count !== ref.numel) {
      throw notACheckpoint(source, `storage '${key}' holds ${count} elements where its pickle declares ${ref.numel}`);
    }
    if (count < 0 || pos + len > data.length) {
      throw notACheckpoint(source, `storage '${key}' needs ${len} bytes at byte ${pos}, file has ${data.length}`);
    }
    bytes.set(key, data.subarray(pos, pos + len));
    pos += len;
  }
  return materialize(source, tensors, bytes, littleEndian);
}

// ---------------------------------------------------------------------------------------------

function tensorDict(v: PyValue | undefined): Map<string, TorchTensorRef> | undefined {
  if (!(v instanceof PyDict)) return undefined;
  const out = new Map<string, TorchTensorRef>();
  for (const [k, t] of v.items) {
    if (typeof k !== 'string' || !(t instanceof TorchTensorRef)) return undefined;
    out.set(k, t);
  }
  return out;
}

/** The state_dict itself, or one wrapped as {'state_dict': ...} / {'model': ...} (e.g. with epoch, optimizer). */
function selectStateDict(top: PyValue, source: string): Map<string, TorchTensorRef> {
  const direct = tensorDict(top);
  if (direct) return direct;
  const hint = "save model.state_dict(), or a dict holding it under 'state_dict' or 'model'";
  if (!(top instanceof PyDict)) throw weightsError(source, `holds a ${describePy(top)}, not a state_dict`, hint);
  for (const wrapper of ['state_dict', 'model']) {
    const inner = tensorDict(top.items.get(wrapper));
    if (inner) return inner;
  }
  const keys = [...top.items.keys()].map((k) => (typeof k === 'string' ? k : describePy(k)));
  const [badKey, badValue] = [...top.items].find(([k, v]) => typeof k !== 'string' || !(v instanceof TorchTensorRef)) ?? [];
  throw weightsError(
    source,
    `holds no state_dict: entry '${showPy(badKey ?? null)}' is a ${describePy(badValue ?? null)}, not a tensor ` +
      `(top-level keys: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', ...' : ''})`,
    hint,
  );
}

const storageBytes = (ref: TorchStorageRef) => ref.numel * torchElementSize(ref.dtype);
const isFloat = (dtype: TorchDType) => dtype.startsWith('float') || dtype === 'bfloat16';

/**
 * Checks every tensor view against its storage and the total against the cap, then lets the
 * caller compare shapes (opts.expect), all before a byte of tensor data is read.
 */
function plan(source: string, tensors: Map<string, TorchTensorRef>, opts: ReadWeightsOptions): void {
  const storages = new Map<string, TorchStorageRef>();
  let total = 0;
  const header = new Map<string, TensorHeader>();
  for (const [name, t] of tensors) {
    const ref = t.storage;
    const fail = (problem: string) =>
      weightsError(source, `tensor '${name}' ${problem}`, 'use a checkpoint written by torch.save from an ordinary model');
    if (ref.numel > MAX_ELEMENTS) throw fail(`lives in a storage of ${ref.numel} elements, more than one array can hold`);
    storages.set(ref.key, ref);
    const size = ref.view ? ref.view.size : ref.numel;
    total += 4 * checkView(t.offset, t.shape, t.stride, size, fail);
    header.set(name, { dtype: ref.dtype, shape: [...t.shape] });
  }
  // Storages are decoded to float32 too: both count.
  for (const ref of storages.values()) total += 4 * ref.numel;
  checkTotalBytes(source, total, maxWeightsBytes());
  opts.expect?.(header);
}

/** Turns checked tensor views into C-ordered float32 records; each storage is decoded once. */
function materialize(
  source: string,
  tensors: Map<string, TorchTensorRef>,
  bytes: Map<string, Uint8Array>,
  littleEndian: boolean,
): StateDict {
  const decoded = new Map<string, Float32Array>();
  const handedOut = new Set<string>();
  const out: StateDict = new Map();
  for (const [name, t] of tensors) {
    const ref: TorchStorageRef = t.storage;
    let all = decoded.get(ref.key);
    if (!all) {
      const raw = bytes.get(ref.key);
      if (!raw) throw notACheckpoint(source, `storage '${ref.key}' is missing`);
      all = decodeElements(raw, TORCH_KIND[ref.dtype], littleEndian, true);
      if (all.length !== ref.numel) throw notACheckpoint(source, `storage '${ref.key}' holds ${all.length} elements, not ${ref.numel}`);
      decoded.set(ref.key, all);
    }
    // plan() checked the view against the (view of the) storage; legacy views start at `base`.
    const base = ref.view?.offset ?? 0;
    const n = t.shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (!isContiguous(t.shape, t.stride)) {
      data = gatherStrided(all, base + t.offset, t.shape, t.stride);
    } else {
      const view = all.subarray(base + t.offset, base + t.offset + n);
      // Alias the storage once, and only when the tensor covers most of it; otherwise copy so
      // records never share memory and a small slice does not pin a large storage.
      const alias = !handedOut.has(ref.key) && 2 * n >= all.length;
      data = alias ? view : view.slice();
    }
    handedOut.add(ref.key);
    if (isFloat(ref.dtype)) assertFinite(source, name, data);
    const record: TensorRecord = { dtype: ref.dtype, shape: [...t.shape], data };
    out.set(name, record);
  }
  return out;
}
