/**
 * PyTorch checkpoint reading from any byte source (a file, or bytes in the browser): the zip format
 * (torch >= 1.6) and the legacy format (torch < 1.6, or `_use_new_zipfile_serialization=False`).
 * Both pickle the object with persistent ids naming storages whose raw bytes sit outside the
 * pickle; see pickle.ts for why loading one can never run code. The zip container itself is read
 * by a ZipArchive the caller supplies (yauzl on node, pth.ts; fflate in the browser page).
 */
import { weightsError } from '../errors';
import type { ReadWeightsOptions, StateDict, TensorHeader, TensorRecord, TorchDType } from './state-dict';
import { PyDict, TorchStorageRef, TorchTensorRef, describePy, showPy, unpickle, type PyValue } from './pickle';
import { TORCH_KIND, decodeElements, gatherStrided, isContiguous, torchElementSize } from './elements';
import { MAX_ELEMENTS, assertFinite, checkTotalBytes, checkView, fmtBytes, maxWeightsBytes } from './limits';
import { readRange, readWhole, type WeightsBytes } from './byte-source';

const REDOWNLOAD = 're-download it';
/** A state_dict pickle is kilobytes to a few MB (names and shapes only); more is not a checkpoint. */
const MAX_PICKLE_BYTES = 64 * 1024 ** 2;
/** torch writes one zip entry per storage plus three; this bounds the central directory walk. */
export const MAX_ZIP_ENTRIES = 200_000;
export const notACheckpoint = (path: string, detail: string) =>
  weightsError(path, `is truncated or not a valid PyTorch checkpoint; ${REDOWNLOAD} (${detail})`);

/** One entry of a zip's central directory, as its reader declares it. */
export interface ZipEntryInfo {
  name: string;
  /** The uncompressed size the directory declares. */
  uncompressedSize: number;
}

/** A zip archive's directory and a way to read one entry's (uncompressed) bytes. */
export interface ZipArchive {
  entries: ZipEntryInfo[];
  read(entry: ZipEntryInfo): Promise<Uint8Array>;
}

/** Opens the zip container of a checkpoint; errors name `file.path`. */
export type OpenZip = (file: WeightsBytes) => Promise<ZipArchive>;

/** Reads a .pth/.pt checkpoint holding a state_dict (possibly under 'state_dict' or 'model'). */
export async function readPthFrom(file: WeightsBytes, opts: ReadWeightsOptions, openZip: OpenZip): Promise<StateDict> {
  const path = file.path;
  if (file.size === 0) throw weightsError(path, 'is empty (0 bytes)', REDOWNLOAD);
  const head = await readRange(file, 0, Math.min(4, file.size), 'header');
  if (head[0] === 0x50 && head[1] === 0x4b) return await readZipPth(file, opts, openZip); // 'PK'
  if (head[0] === 0x80 && head.length > 1 && head[1] >= 2 && head[1] <= 5) return await readLegacyPth(file, opts);
  throw weightsError(
    path,
    'is not a PyTorch checkpoint (neither the zip format nor the legacy pickle format)',
    'pass a file written by torch.save, or a .safetensors file',
  );
}

// ---------------------------------------------------------------------------------------------
// Zip format: <prefix>/data.pkl, <prefix>/data/<key> (one entry per storage), <prefix>/byteorder.

/** A zip entry name that could write outside a folder if extracted: absolute, '..', backslashes, NUL. */
const traversing = (name: string) =>
  name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\') || name.includes('\0') || name.split('/').includes('..');

/** The archive's entries by name; names that traverse or repeat are refused. */
function entryMap(path: string, zip: ZipArchive): Map<string, ZipEntryInfo> {
  if (zip.entries.length > MAX_ZIP_ENTRIES) {
    throw notACheckpoint(path, `${zip.entries.length} zip entries, more than any checkpoint has`);
  }
  const entries = new Map<string, ZipEntryInfo>();
  for (const e of zip.entries) {
    if (traversing(e.name)) {
      throw weightsError(
        path,
        `has a zip entry named '${e.name}' that points outside the archive; refusing it`,
        'use a file written by torch.save',
      );
    }
    if (entries.has(e.name)) {
      throw weightsError(path, `has two zip entries named '${e.name}'; refusing an ambiguous archive`, 'use a file written by torch.save');
    }
    entries.set(e.name, e);
  }
  return entries;
}

/** Reads one entry, refusing it first unless it declares exactly `expected` bytes (or at most `max`). */
async function readZipEntry(
  path: string,
  zip: ZipArchive,
  entry: ZipEntryInfo,
  size: { expected?: number; max?: number },
): Promise<Uint8Array> {
  const what = `zip entry '${entry.name}'`;
  if (size.expected !== undefined && entry.uncompressedSize !== size.expected) {
    throw notACheckpoint(path, `${what} declares ${entry.uncompressedSize} bytes where its storage needs ${size.expected}`);
  }
  if (size.max !== undefined && entry.uncompressedSize > size.max) {
    throw notACheckpoint(path, `${what} declares ${fmtBytes(entry.uncompressedSize)}, more than the ${fmtBytes(size.max)} it may hold`);
  }
  const out = await zip.read(entry);
  if (out.length !== entry.uncompressedSize) {
    throw notACheckpoint(path, `${what} holds ${out.length} bytes, not the ${entry.uncompressedSize} it declares`);
  }
  return out;
}

async function readZipPth(file: WeightsBytes, opts: ReadWeightsOptions, openZip: OpenZip): Promise<StateDict> {
  const zip = await openZip(file);
  const entries = entryMap(file.path, zip);
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
  const pkl = await readZipEntry(file.path, zip, entries.get(pkls[0])!, { max: MAX_PICKLE_BYTES });
  const parsed = unpickle(pkl, { source, persistent: true });
  const order = entries.get(`${prefix}byteorder`);
  const littleEndian = order ? new TextDecoder().decode(await readZipEntry(file.path, zip, order, { max: 16 })).trim() !== 'big' : true;
  const tensors = selectStateDict(parsed.value, source);
  plan(source, tensors, opts);
  const bytes = new Map<string, Uint8Array>();
  for (const t of tensors.values()) {
    const key = t.storage.key;
    if (bytes.has(key)) continue;
    const entry = entries.get(`${prefix}data/${key}`);
    if (!entry) throw notACheckpoint(file.path, `storage '${prefix}data/${key}' is missing`);
    bytes.set(key, await readZipEntry(file.path, zip, entry, { expected: storageBytes(t.storage) }));
  }
  return materialize(source, tensors, bytes, littleEndian);
}

// ---------------------------------------------------------------------------------------------
// Legacy format: magic-number pickle, protocol-version pickle, sys-info pickle, the object
// pickle, the pickle of storage keys, then per key an int64 element count and the raw bytes.

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

async function readLegacyPth(file: WeightsBytes, opts: ReadWeightsOptions): Promise<StateDict> {
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
    const size = ref.view ? ref.view.size : ref.numel;
    const n = checkView(t.offset, t.shape, t.stride, size, fail);
    // the same rule as materialize(): the first contiguous view covering half its storage or more
    // aliases the decoded storage and costs nothing more; every other view is a copy
    if (storages.has(ref.key) || !isContiguous(t.shape, t.stride) || 2 * n < ref.numel) total += 4 * n;
    storages.set(ref.key, ref);
    header.set(name, { dtype: ref.dtype, shape: [...t.shape] });
  }
  // Storages are decoded to float32 too.
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
