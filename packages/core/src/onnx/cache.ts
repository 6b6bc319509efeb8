/**
 * Exported models live in the weight cache, under <DPL_HOME>/onnx (DPL_HOME defaults to
 * ~/.cache/dpl, as the CLI's weight cache), named by a key of everything the exported bytes
 * depend on: backbone, taps, layout, BatchNorm mode, exporter version, the structure of the
 * subgraph and the weights. A model is written once (atomically) and reused by later runs; its
 * SHA-256 is recorded next to it and checked on every load, so a model changed on disk (damage, a
 * hand edit, a swapped file) is exported afresh instead of being run.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Graph } from '../graph/ir';
import { ancestors } from '../graph/shapes';
import { expectedParams } from '../graph/params';
import type { StateDict } from '../weights/state-dict';
import { ONNX_EXPORTER_VERSION, type OnnxModel } from './export';

/** <DPL_HOME>/onnx, DPL_HOME defaulting to ~/.cache/dpl. */
export const defaultOnnxCacheDir = (): string => path.join(process.env.DPL_HOME ?? path.join(os.homedir(), '.cache', 'dpl'), 'onnx');

/** SHA-256 of the parameters `nodes` read (keys sorted, values as float32 bytes). */
export function weightsHash(graph: Graph, sd: StateDict, nodes: Set<number>): string {
  const h = createHash('sha256');
  const keys = expectedParams({ ...graph, nodes: graph.nodes.filter((n) => nodes.has(n.id)) })
    .map((p) => p.key)
    .sort();
  for (const k of keys) {
    const r = sd.get(k);
    h.update(k);
    if (r) h.update(new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength));
  }
  return h.digest('hex');
}

export interface ModelKeyParts {
  backbone: string;
  graph: Graph;
  outputs: { name: string; node: number }[];
  layout: string;
  batchNorm: string;
  foldBatchNorm: boolean;
  /** Identifies the weights: a file's SHA-256 or weightsHash(). */
  weights: string;
}

/** The cache key: hex SHA-256 over every input of the export. */
export function onnxModelKey(p: ModelKeyParts): string {
  const need = ancestors(
    p.graph,
    p.outputs.map((o) => o.node),
  );
  const structure = p.graph.nodes.filter((n) => need.has(n.id));
  return createHash('sha256')
    .update(
      JSON.stringify({
        exporter: ONNX_EXPORTER_VERSION,
        backbone: p.backbone,
        outputs: p.outputs,
        layout: p.layout,
        batchNorm: p.batchNorm,
        fold: p.foldBatchNorm,
        weights: p.weights,
        structure,
      }),
    )
    .digest('hex');
}

/** What is stored next to a cached model. */
export interface CachedModelInfo {
  key: string;
  backbone: string;
  inputName: string;
  outputs: string[];
  layout: string;
  nodeCount: number;
  foldedBatchNorms: number;
  bytes: number;
  /** SHA-256 of the model file, recorded when it was exported. */
  sha256: string;
  created: string;
}

/** An exported ONNX model in the cache: its file, what it was exported from, and whether it was reused. */
export interface CachedModel {
  file: string;
  info: CachedModelInfo;
  /** True when the model was already in the cache (no export ran). */
  reused: boolean;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** The model file for `key` in `dir`. */
export const cachedModelPath = (dir: string, backbone: string, key: string): string =>
  path.join(dir, `${safe(backbone)}-${key.slice(0, 24)}.onnx`);

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** SHA-256 of a file read in 1 MiB blocks (models are hundreds of MB: no whole-file buffer). */
function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(2 ** 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Why the cached model `file` cannot be trusted, or null when its bytes match its recorded SHA-256. */
export function checkCachedModel(file: string, key?: string): { info: CachedModelInfo | null; problem: string | null } {
  let info: CachedModelInfo;
  try {
    info = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as CachedModelInfo;
  } catch (e) {
    return { info: null, problem: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no info file' : 'unreadable info file' };
  }
  if (key !== undefined && info.key !== key) return { info, problem: 'info file names another key' };
  if (typeof info.sha256 !== 'string') return { info, problem: 'no recorded SHA-256 (exported by an older dpl)' };
  let got: string;
  try {
    got = sha256File(file);
  } catch {
    return { info, problem: 'model file missing' };
  }
  if (got !== info.sha256)
    return { info, problem: `SHA-256 ${got.slice(0, 16)}... does not match the recorded ${info.sha256.slice(0, 16)}...` };
  return { info, problem: null };
}

function readInfo(file: string, key: string, log?: (line: string) => void): CachedModelInfo | null {
  if (!fs.existsSync(file) && !fs.existsSync(`${file}.json`)) return null;
  const c = checkCachedModel(file, key);
  if (c.problem) log?.(`onnx: cached model ${file} failed its check (${c.problem}); re-exporting it`);
  return c.problem ? null : c.info;
}

/** What verifying one cached ONNX model found: its file, backbone, and the problem if any. */
export interface CachedModelCheck {
  file: string;
  backbone: string | null;
  ok: boolean;
  problem?: string;
}

/** Checks every model in an ONNX cache folder against its recorded SHA-256 (for `dpl weights verify`). */
export function verifyOnnxCache(dir: string): CachedModelCheck[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.onnx'))
    .sort()
    .map((n) => {
      const file = path.join(dir, n);
      const { info, problem } = checkCachedModel(file);
      return { file, backbone: info?.backbone ?? null, ok: !problem, ...(problem ? { problem } : {}) };
    });
}

/** Deletes a cached model and its info file (missing ones are fine). */
export function removeCachedModel(file: string): void {
  for (const f of [`${file}.json`, file]) fs.rmSync(f, { force: true });
}

function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * The cached model for `key`, exporting it with `build` when it is missing or incomplete. The
 * model is renamed into place before its info file, and the info names the key and size, so a
 * half-written model is never taken for a finished one.
 */
export async function cachedOnnxModel(
  dir: string,
  backbone: string,
  key: string,
  build: () => Promise<OnnxModel> | OnnxModel,
  log?: (line: string) => void,
): Promise<CachedModel> {
  const file = cachedModelPath(dir, backbone, key);
  const found = readInfo(file, key, log);
  if (found) return { file, info: found, reused: true };
  const m = await build();
  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(file, m.bytes);
  const info: CachedModelInfo = {
    key,
    backbone,
    inputName: m.inputName,
    outputs: m.outputs,
    layout: m.layout,
    nodeCount: m.nodeCount,
    foldedBatchNorms: m.foldedBatchNorms,
    bytes: m.bytes.byteLength,
    sha256: sha256(m.bytes),
    created: new Date().toISOString(),
  };
  writeAtomic(`${file}.json`, JSON.stringify(info, null, 2));
  return { file, info, reused: false };
}
