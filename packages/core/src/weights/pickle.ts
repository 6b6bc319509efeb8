/**
 * A restricted interpreter for the pickles inside PyTorch checkpoints.
 *
 * Python's unpickler imports whatever module/name a GLOBAL opcode asks for and calls it on
 * REDUCE, which is how a malicious .pth runs code. This reader is JavaScript walking data: a
 * GLOBAL is only ever resolved against the fixed allow-list below (anything else is refused at
 * the opcode, before any further byte is interpreted), and REDUCE / NEWOBJ / BUILD only ever
 * dispatch to the JS functions of that list. Nothing is imported, evaluated or executed.
 */
import { weightsError } from '../errors';
import type { TorchDType } from './state-dict';

/** The storage classes torch pickles as the second field of a storage's persistent id. */
export const STORAGE_DTYPES: Readonly<Record<string, TorchDType>> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** A Python dict / OrderedDict; insertion order is kept. */
export class PyDict {
  readonly items = new Map<PyValue, PyValue>();
  /** State set by BUILD (torch stores `_metadata` on a state_dict this way); not items. */
  attrs: PyValue = null;
  constructor(readonly kind: 'dict' | 'OrderedDict') {}
}

/** An allow-listed global (a storage class or a rebuild function), never a live object. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A storage referenced by a persistent id: bytes live outside the pickle (zip entry / legacy tail). */
export class TorchStorageRef {
  constructor(
    /** Root storage key: `data/<key>` in a zip, the key list order in the legacy format. */
    readonly key: string,
    readonly dtype: TorchDType,
    /** Element count the pickle declares for the root storage. */
    readonly numel: number,
    readonly location: string,
    /** Legacy storage views: elements [offset, offset + size) of the root storage. */
    readonly view?: { readonly offset: number; readonly size: number },
  ) {}
}

/** What `_rebuild_tensor*` describes: a strided view into a storage. */
export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/**
 * Python values as JS: None -> null, int -> number (bigint beyond 2^53), str -> string,
 * bytes -> Uint8Array, list -> array, tuple -> frozen array, dict -> PyDict.
 */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | readonly PyValue[]
  | PyDict
  | PyGlobal
  | TorchStorageRef
  | TorchTensorRef;

export interface UnpickleOptions {
  /** Names the file (and archive member) in every error. */
  source: string;
  /** Byte offset of the pickle in `data` (the legacy format concatenates several). */
  start?: number;
  /** Whether persistent ids (storages) may appear; only the object pickle has them. */
  persistent?: boolean;
}

export interface UnpickleResult {
  value: PyValue;
  /** Offset just after the STOP opcode. */
  end: number;
  /** Every root storage the pickle referenced, by key. */
  storages: Map<string, TorchStorageRef>;
}

/**
 * Bounds on what one pickle may make the interpreter do. A state_dict pickle is a flat dict of
 * tensors (nesting depth about 4, a handful of memo entries per tensor); these limits are far
 * above any real checkpoint and far below what would exhaust memory. Nothing here recurses over
 * values, so a self-referencing structure cannot overflow the stack; it is refused anyway.
 */
export const PICKLE_LIMITS = {
  /** Opcodes (1 each) plus container items moved (ITEM_COST each: SETITEMS, APPENDS, TUPLE, OrderedDict copies). */
  work: 20_000_000,
  memo: 1_000_000,
  depth: 100,
  stack: 10_000_000,
  marks: 10_000,
};

/** An item put into a container (a Map insertion) costs about as much as this many opcodes. */
const ITEM_COST = 4;

const SECURITY_HINT =
  'only load checkpoints from sources you trust; a plain torch.save(model.state_dict(), path) ' + 'file never needs this';

type Callable = (args: readonly PyValue[], fail: (problem: string) => Error) => PyValue;

const isTuple = (v: PyValue): v is readonly PyValue[] => Array.isArray(v);

function asCount(v: PyValue, what: string, fail: (p: string) => Error): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw fail(`${what} must be a non-negative integer, got ${describe(v)}`);
  }
  return v;
}

function asCounts(v: PyValue, what: string, fail: (p: string) => Error): number[] {
  if (!isTuple(v)) throw fail(`${what} must be a tuple of integers, got ${describe(v)}`);
  return v.map((x) => asCount(x, what, fail));
}

function rebuildTensor(args: readonly PyValue[], fail: (p: string) => Error): TorchTensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorageRef)) {
    throw fail(`tensor rebuild expects a storage as first argument, got ${describe(storage ?? null)}`);
  }
  const shape = asCounts(size ?? null, 'tensor size', fail);
  const strides = asCounts(stride ?? null, 'tensor stride', fail);
  if (shape.length !== strides.length) {
    throw fail(`tensor size ${JSON.stringify(shape)} and stride ${JSON.stringify(strides)} differ in length`);
  }
  return new TorchTensorRef(storage, asCount(offset ?? null, 'storage offset', fail), shape, strides);
}

function unwrapParameter(args: readonly PyValue[], fail: (p: string) => Error): TorchTensorRef {
  const data = args[0];
  if (!(data instanceof TorchTensorRef)) {
    throw fail(`_rebuild_parameter expects a tensor, got ${describe(data ?? null)}`);
  }
  return data;
}

function orderedDict(args: readonly PyValue[], fail: (p: string) => Error): PyDict {
  const d = new PyDict('OrderedDict');
  if (args.length === 0) return d;
  const src = args[0];
  if (args.length === 1 && src instanceof PyDict) {
    for (const [k, v] of src.items) d.items.set(k, v);
    return d;
  }
  if (args.length === 1 && isTuple(src ?? null)) {
    for (const pair of src as readonly PyValue[]) {
      if (!isTuple(pair) || pair.length !== 2) throw fail('OrderedDict() expects (key, value) pairs');
      d.items.set(pair[0], pair[1]);
    }
    return d;
  }
  throw fail('unsupported OrderedDict() arguments');
}

/** `module\nname` -> implementation. A newline cannot occur in either part of a GLOBAL. */
const CALLABLES = new Map<string, Callable>([
  ['collections\nOrderedDict', orderedDict],
  ['torch._utils\n_rebuild_tensor_v2', rebuildTensor], // (storage, offset, size, stride, requires_grad, hooks[, metadata])
  ['torch._utils\n_rebuild_tensor', rebuildTensor], // torch < 0.4: (storage, offset, size, stride)
  ['torch._utils\n_rebuild_parameter', unwrapParameter], // (data, requires_grad, hooks)
  ['torch._utils\n_rebuild_parameter_with_state', unwrapParameter], // torch 2.x: (data, requires_grad, hooks, state)
]);
/**
 * Globals that are only ever referenced, never called: storage classes in persistent ids.
 * torch < 1.0 named CUDA storages `torch.cuda.<X>Storage`; the bytes on disk are the same.
 */
const MARKERS = new Set(Object.keys(STORAGE_DTYPES).flatMap((n) => [`torch\n${n}`, `torch.cuda\n${n}`]));

export function isAllowedGlobal(module: string, name: string): boolean {
  const key = `${module}\n${name}`;
  return CALLABLES.has(key) || MARKERS.has(key);
}

function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'tuple' : 'list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyDict) return v.kind;
  if (v instanceof PyGlobal) return v.qualifiedName;
  if (v instanceof TorchStorageRef) return 'storage';
  if (v instanceof TorchTensorRef) return 'tensor';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return typeof v === 'string' ? 'str' : typeof v === 'bigint' ? 'int' : 'bool';
}

/** Python-style name for error messages. */
export const describePy = describe;

/** A scalar as itself, anything else by its Python type name (never '[object Object]'). */
export function showPy(v: PyValue): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : describe(v);
}

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

const OPCODE_NAMES: Record<number, string> = {
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4c: 'LONG',
  0x50: 'PERSID',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x64: 'DICT',
  0x67: 'GET',
  0x69: 'INST',
  0x6c: 'LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Interprets one pickle starting at `opts.start`; throws a weightsError naming `opts.source`. */
export function unpickle(data: Uint8Array, opts: UnpickleOptions): UnpickleResult {
  const { source } = opts;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (problem: string, hint?: string) => weightsError(source, problem, hint);
  const corrupt = (what: string) =>
    fail(`corrupt pickle (${what} at byte ${opAt}); the file is truncated or not a PyTorch checkpoint`, 're-download or re-save it');

  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  /** Nesting depth of each container made here (values not in the map have depth 0). */
  const depths = new WeakMap<object, number>();
  let work = 0;
  const spend = (n: number) => {
    work += n;
    if (work > PICKLE_LIMITS.work) throw tooBig(`more than ${PICKLE_LIMITS.work} steps`);
  };
  const tooBig = (what: string) =>
    fail(
      `refusing a pickle that needs ${what}; a state_dict never does (the file is corrupt or hostile)`,
      're-save it with torch.save(model.state_dict(), path)',
    );
  const depthOf = (v: PyValue) => (v !== null && typeof v === 'object' ? (depths.get(v) ?? 0) : 0);
  /** Records that `container` now holds `items`: refuses self-insertion and deep nesting. */
  const nest = (container: object, items: readonly PyValue[], paid = false) => {
    if (!paid) spend(ITEM_COST * items.length);
    let d = depths.get(container) ?? 1;
    for (const it of items) {
      if (it === container) throw tooBig('a container that holds itself');
      d = Math.max(d, depthOf(it) + 1);
    }
    if (d > PICKLE_LIMITS.depth) throw tooBig(`containers nested more than ${PICKLE_LIMITS.depth} deep`);
    depths.set(container, d);
  };
  const push = (v: PyValue) => {
    if (stack.length >= PICKLE_LIMITS.stack) throw tooBig(`more than ${PICKLE_LIMITS.stack} values on its stack`);
    stack.push(v);
  };
  const memoSet = (i: number, v: PyValue) => {
    if (memo.size >= PICKLE_LIMITS.memo && !memo.has(i)) throw tooBig(`more than ${PICKLE_LIMITS.memo} memo entries`);
    memo.set(i, v);
  };
  const storages = new Map<string, TorchStorageRef>();
  let pos = opts.start ?? 0;
  let opAt = pos;

  const need = (n: number) => {
    if (n < 0 || pos + n > data.length) throw corrupt('unexpected end of data');
  };
  const u8 = () => (need(1), data[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = () => {
    need(8);
    const lo = view.getUint32(pos, true);
    const hi = view.getUint32(pos + 4, true);
    pos += 8;
    if (hi >= 0x200000) throw corrupt('length beyond 2^53');
    return hi * 2 ** 32 + lo;
  };
  const bytes = (n: number) => {
    need(n);
    pos += n;
    return data.subarray(pos - n, pos);
  };
  const line = () => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) throw corrupt('unterminated GLOBAL');
    const s = latin1.decode(data.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      throw corrupt('stack underflow');
    }
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      throw corrupt('stack underflow');
    }
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) throw corrupt('missing MARK');
    return stack.splice(m);
  };
  const tuple = (items: PyValue[]): readonly PyValue[] => {
    nest(items, items);
    return Object.freeze(items);
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) throw corrupt(`memo key ${i} not set`);
    return memo.get(i) as PyValue;
  };
  const global = (module: string, name: string): PyGlobal => {
    if (!isAllowedGlobal(module, name)) {
      throw fail(
        `refusing to load: the pickle references the global '${module}.${name}', which is not on the ` +
          'allow-list of a PyTorch state_dict (it could run code)',
        SECURITY_HINT,
      );
    }
    return new PyGlobal(module, name);
  };
  const dictTarget = (op: string): PyDict => {
    const d = top();
    if (!(d instanceof PyDict)) throw corrupt(`${op} on a ${describe(d)}`);
    return d;
  };
  const listTarget = (op: string): PyValue[] => {
    const l = top();
    if (!Array.isArray(l) || Object.isFrozen(l)) throw corrupt(`${op} on a ${describe(l)}`);
    return l as PyValue[];
  };
  const persistentLoad = (pid: PyValue): TorchStorageRef => {
    if (!opts.persistent) throw corrupt('unexpected persistent id');
    if (!isTuple(pid) || pid.length < 5) throw fail(`unsupported persistent id (${describe(pid)})`);
    const [kind, type, key, location, numel, viewMeta] = pid;
    if (kind !== 'storage') {
      throw fail(
        `unsupported persistent id '${showPy(kind)}' (a pickled nn.Module, not a state_dict)`,
        'save model.state_dict() instead of the model',
      );
    }
    if (!(type instanceof PyGlobal) || !(type.name in STORAGE_DTYPES)) {
      throw fail(`persistent id names ${describe(type)} where a storage class belongs`);
    }
    if (typeof key !== 'string') throw corrupt('storage key is not a string');
    const dtype = STORAGE_DTYPES[type.name];
    const count = asCount(numel, 'storage size', fail);
    const root = storages.get(key);
    if (root && root.dtype !== dtype) {
      throw fail(`storage '${key}' is used as both ${root.dtype} and ${dtype}; unsupported`);
    }
    if (!root) storages.set(key, new TorchStorageRef(key, dtype, count, showPy(location)));
    if (viewMeta === null || viewMeta === undefined) return storages.get(key) as TorchStorageRef;
    // Legacy storage views: (view_key, offset, size) in elements of the root storage.
    if (!isTuple(viewMeta) || viewMeta.length !== 3) throw corrupt('bad storage view metadata');
    const offset = asCount(viewMeta[1], 'storage view offset', fail);
    const size = asCount(viewMeta[2], 'storage view size', fail);
    if (offset + size > count) throw corrupt(`storage view beyond storage '${key}'`);
    return new TorchStorageRef(key, dtype, count, showPy(location), { offset, size });
  };
  const call = (fn: PyValue, args: PyValue, op: string): PyValue => {
    if (!(fn instanceof PyGlobal)) throw corrupt(`${op} of a ${describe(fn)}`);
    const impl = CALLABLES.get(`${fn.module}\n${fn.name}`);
    if (!impl) throw fail(`${op} of '${fn.qualifiedName}' is not supported`, SECURITY_HINT);
    if (!isTuple(args)) throw corrupt(`${op} arguments are a ${describe(args)}`);
    // OrderedDict(d) copies d: paid for before the copy is made.
    for (const a of args) if (a instanceof PyDict) spend(2 * ITEM_COST * a.items.size);
    const out = impl(args, (p) => fail(p));
    if (out instanceof PyDict) nest(out, [...out.items.keys(), ...out.items.values()], true);
    return out;
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    spend(1);
    switch (op) {
      case 0x80: {
        // PROTO
        const proto = u8();
        if (proto > 5) throw fail(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: // FRAME: framing is only a buffering hint
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) throw corrupt('STOP with unbalanced stack');
        return { value: stack[0], end: pos, storages };
      case 0x28: // MARK
        if (marks.length >= PICKLE_LIMITS.marks) throw tooBig(`more than ${PICKLE_LIMITS.marks} open MARKs`);
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        push(new PyDict('dict'));
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(tuple([]));
        break;
      case 0x85: // TUPLE1
        push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(tuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        push(tuple(popMark()));
        break;
      case 0x58: // BINUNICODE
        push(utf8.decode(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8.decode(bytes(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8.decode(bytes(u64())));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        push(utf8.decode(bytes(u8())));
        break;
      case 0x54: {
        // BINSTRING (Python 2 str)
        const n = view.getInt32((need(4), pos), true);
        pos += 4;
        push(utf8.decode(bytes(n)));
        break;
      }
      case 0x43: // SHORT_BINBYTES
        push(bytes(u8()).slice());
        break;
      case 0x42: // BINBYTES
        push(bytes(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(bytes(u64()).slice());
        break;
      case 0x4a: // BININT
        need(4);
        push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(decodeLong(bytes(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = u32();
        if (n > 64) throw corrupt('integer too large');
        push(decodeLong(bytes(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        const d = dictTarget('SETITEM');
        nest(d, [k, v]);
        d.items.set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) throw corrupt('odd SETITEMS');
        const d = dictTarget('SETITEMS');
        nest(d, items);
        for (let i = 0; i < items.length; i += 2) d.items.set(items[i], items[i + 1]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = listTarget('APPEND');
        nest(l, [v]);
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = listTarget('APPENDS');
        nest(l, items);
        for (const it of items) l.push(it); // no spread: a long MARK run would overflow the call stack
        break;
      }
      case 0x71: // BINPUT
        memoSet(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoSet(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memoSet(memo.size, top());
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x30: // POP
        if (stack.length > 0 && (marks.length === 0 || stack.length > marks[marks.length - 1])) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x63: {
        // GLOBAL: checked against the allow-list before anything else happens
        const module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw corrupt('STACK_GLOBAL of non-strings');
        push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        push(call(pop(), args, 'REDUCE'));
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        if (op === 0x92) pop(); // kwargs
        pop(); // args: OrderedDict.__new__ ignores them; items arrive via SETITEMS
        const cls = pop();
        if (!(cls instanceof PyGlobal) || cls.qualifiedName !== 'collections.OrderedDict') {
          throw fail(`NEWOBJ of '${describe(cls)}' is not supported`, SECURITY_HINT);
        }
        push(new PyDict('OrderedDict'));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        if (!(target instanceof PyDict)) throw fail(`BUILD of a ${describe(target)} is not supported`, SECURITY_HINT);
        nest(target, [state]);
        target.attrs = state; // attributes (e.g. _metadata), never items
        break;
      }
      case 0x51: // BINPERSID
        push(persistentLoad(pop()));
        break;
      default: {
        const name = OPCODE_NAMES[op];
        throw fail(
          `unsupported pickle opcode ${name ?? `0x${op.toString(16).padStart(2, '0')}`} at byte ${opAt}` +
            (name ? '' : '; the file is corrupt or not a PyTorch checkpoint'),
          're-save the checkpoint with torch.save(model.state_dict(), path)',
        );
      }
    }
  }
}
