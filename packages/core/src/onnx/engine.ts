/**
 * Inference engines: one forward pass of a frozen feature extractor to a set of points, either on
 * tfjs (the executor; differentiable, every backend) or on onnxruntime-node (the exported graph;
 * inference only, native and multi-threaded). `auto` takes onnx when onnxruntime loads and the
 * path needs no gradients, else tfjs with a one-line notice saying why.
 */
import * as tf from '@tensorflow/tfjs-core';
import { isGraphFeatureExtractor } from '../backbone/extractor';
import type { ExtractionPoint, FeatureExtractor } from '../contracts/backbone';
import { configError, DplError, inputError, isDplError } from '../errors';
import type { BatchNormMode } from '../graph/executor';
import { randomStateDict } from '../graph/random-init';
import { ancestors } from '../graph/shapes';
import { readWeights } from '../weights/read-weights';
import type { StateDict } from '../weights/state-dict';
import { cachedOnnxModel, defaultOnnxCacheDir, onnxModelKey, removeCachedModel, weightsHash } from './cache';
import { exportGraphOnnx, type TensorLayout } from './export';
import { defaultThreads, loadOnnxRuntime, sessionOptions, type OrtModule, type OrtSession } from './runtime';

/** An inference engine: tfjs, or onnxruntime-node. */
export type EngineName = 'tfjs' | 'onnx';
/** An engine to ask for (`--engine`); 'auto' takes onnx when it is installed and fits. */
export type EngineChoice = 'auto' | EngineName;
/** Every EngineChoice, for option choices and messages. */
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'tfjs', 'onnx'];

/** Validates an engine choice from a flag or config key. */
export function checkEngineChoice(v: unknown, what = 'engine'): EngineChoice {
  if (typeof v !== 'string' || !(ENGINE_CHOICES as readonly string[]).includes(v)) {
    throw configError(`${what} ${JSON.stringify(v)}`, 'is not an inference engine', `use one of: ${ENGINE_CHOICES.join(', ')}`);
  }
  return v as EngineChoice;
}

/** A dense float32 tensor on the JS heap. */
export interface EngineTensor {
  data: Float32Array;
  shape: number[];
}

/** Which engine ran, for results. */
export interface EngineRecord {
  name: EngineName;
  /** Why auto did not take onnx (null when it did, or when tfjs was asked for). */
  notice: string | null;
  /** onnx: the model file (null when not cached), whether it came from the cache, threads, runtime version. */
  model?: string | null;
  reused?: boolean;
  threads?: number;
  runtime?: string;
}

/** Forward passes of a frozen network on one engine, returning the requested points. */
export interface InferenceEngine {
  readonly name: EngineName;
  /** Layout of the input and of 4-D outputs. */
  readonly layout: TensorLayout;
  /** Resolved point names, in the order asked. */
  readonly points: string[];
  readonly notice: string | null;
  /** One forward pass; every requested point, keyed by name. */
  run(input: EngineTensor): Promise<Map<string, EngineTensor>>;
  describe(): EngineRecord;
  dispose(): Promise<void>;
}

/** Options of createInferenceEngine: layout, BatchNorm mode, gradients, weights, cache folder, threads. */
export interface EngineOptions {
  /** Layout of input and outputs (default 'nchw', PyTorch's). */
  layout?: TensorLayout;
  /** BatchNorm statistics (default 'eval'). */
  batchNorm?: BatchNormMode;
  /** The caller will differentiate through the features: onnx is then not possible. */
  needsGradients?: boolean;
  /**
   * The state_dict the extractor was built from (as given to build()). Without it the weights are
   * taken from the extractor's provenance: the same seeded random weights, or the file re-read
   * (only when the exported model is not cached yet).
   */
  weights?: StateDict;
  /** Where exported models are cached (default <DPL_HOME>/onnx); null exports in memory every time. */
  cacheDir?: string | null;
  /** onnxruntime intra-op threads (default: DPL_ONNX_THREADS, else the core count). */
  threads?: number;
  /** Receives the one-line notice when auto falls back to tfjs. */
  log?: (line: string) => void;
}

function checkInput(input: EngineTensor, layout: TensorLayout, pts: ExtractionPoint[], backbone: string): void {
  const s = input.shape;
  const c = layout === 'nchw' ? s[1] : s[3];
  if (s.length !== 4 || c !== 3) {
    throw inputError(`input of shape [${s.join(', ')}]`, `${backbone} needs a ${layout.toUpperCase()} batch with 3 channels`);
  }
  if (input.data.length !== s.reduce((a, b) => a * b, 1)) {
    throw inputError(`input of shape [${s.join(', ')}]`, `holds ${input.data.length} values`);
  }
  const [h, w] = layout === 'nchw' ? [s[2], s[3]] : [s[1], s[2]];
  const need = Math.max(...pts.map((p) => p.minInputSize));
  if (h < need || w < need) {
    const deepest = pts.find((p) => p.minInputSize === need) as ExtractionPoint;
    throw inputError(
      `input ${h}x${w}`,
      `is smaller than ${backbone} needs for point '${deepest.name}' (${need}x${need})`,
      `resize the input to at least ${need}x${need} or choose an earlier point`,
    );
  }
}

/** The tfjs executor behind the engine interface. */
class TfjsEngine implements InferenceEngine {
  readonly name = 'tfjs' as const;
  constructor(
    private readonly extractor: FeatureExtractor,
    private readonly pts: ExtractionPoint[],
    readonly layout: TensorLayout,
    private readonly batchNorm: BatchNormMode,
    readonly notice: string | null,
  ) {}

  get points(): string[] {
    return this.pts.map((p) => p.name);
  }

  async run(input: EngineTensor): Promise<Map<string, EngineTensor>> {
    checkInput(input, this.layout, this.pts, this.extractor.backbone.id);
    const outs = tf.tidy(() => {
      const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
      const nhwc = this.layout === 'nchw' ? (tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D) : x;
      const feats = this.extractor.extract(nhwc, this.points, { batchNorm: this.batchNorm });
      return this.points.map((p) => {
        const f = feats.get(p) as tf.Tensor;
        return this.layout === 'nchw' && f.rank === 4 ? tf.transpose(f, [0, 3, 1, 2]) : f;
      });
    });
    try {
      const result = new Map<string, EngineTensor>();
      for (const [i, p] of this.points.entries()) result.set(p, { data: (await outs[i].data()) as Float32Array, shape: outs[i].shape });
      return result;
    } finally {
      tf.dispose(outs);
    }
  }

  describe(): EngineRecord {
    return { name: 'tfjs', notice: this.notice };
  }

  async dispose(): Promise<void> {}
}

/** The exported graph on onnxruntime-node. */
class OnnxEngine implements InferenceEngine {
  readonly name = 'onnx' as const;
  readonly notice = null;
  private session: OrtSession | null;

  constructor(
    private readonly ort: OrtModule,
    session: OrtSession,
    private readonly backbone: string,
    private readonly pts: ExtractionPoint[],
    readonly layout: TensorLayout,
    private readonly inputName: string,
    private readonly record: EngineRecord,
  ) {
    this.session = session;
  }

  get points(): string[] {
    return this.pts.map((p) => p.name);
  }

  async run(input: EngineTensor): Promise<Map<string, EngineTensor>> {
    if (!this.session) throw new Error(`${this.backbone} onnx engine was disposed`);
    checkInput(input, this.layout, this.pts, this.backbone);
    const res = await this.session.run({ [this.inputName]: new this.ort.Tensor('float32', input.data, input.shape) });
    const out = new Map<string, EngineTensor>();
    for (const p of this.points) out.set(p, { data: res[p].data as Float32Array, shape: [...res[p].dims] });
    return out;
  }

  describe(): EngineRecord {
    return { ...this.record };
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s) await s.release();
  }
}

/**
 * The weights an extractor was built with: `given` (validated and renamed by the backbone), or
 * the extractor's provenance (seeded random weights are regenerated, a file is re-read).
 */
export async function extractorStateDict(extractor: FeatureExtractor, given?: StateDict): Promise<StateDict> {
  const b = extractor.backbone;
  const prov = extractor.provenance;
  if (given) return b.prepareWeights(given, prov.kind === 'pretrained' ? prov.file : 'weights');
  if (prov.kind === 'random') return randomStateDict(b.graph(), prov.seed);
  return b.prepareWeights(await readWeights(prov.file), prov.file);
}

async function createOnnxEngine(
  ort: OrtModule,
  version: string,
  extractor: FeatureExtractor,
  pts: ExtractionPoint[],
  o: EngineOptions,
): Promise<OnnxEngine> {
  const b = extractor.backbone;
  const graph = b.graph();
  const layout = o.layout ?? 'nchw';
  const batchNorm = o.batchNorm ?? 'eval';
  const outputs = pts.map((p) => ({ name: p.name, node: p.node }));
  let sd: StateDict | undefined;
  const stateDict = async () => (sd ??= await extractorStateDict(extractor, o.weights));
  const build = async () => exportGraphOnnx(graph, await stateDict(), outputs, { layout, batchNorm, metadata: { backbone: b.id } });
  const threads = o.threads ?? defaultThreads();
  const cacheDir = o.cacheDir === undefined ? defaultOnnxCacheDir() : o.cacheDir;
  const open = async (source: string | Uint8Array, inputName: string, file: string | null, reused: boolean) =>
    new OnnxEngine(ort, await ort.InferenceSession.create(source, sessionOptions(threads)), b.id, pts, layout, inputName, {
      name: 'onnx',
      notice: null,
      model: file,
      reused,
      threads,
      runtime: version,
    });
  if (cacheDir === null) {
    const m = await build();
    return open(m.bytes, m.inputName, null, false);
  }
  const prov = extractor.provenance;
  // a checkpoint's SHA-256 names its weights without reading them again
  const weights =
    prov.kind === 'pretrained' && prov.sha256
      ? `file-sha256:${prov.sha256}`
      : `params-sha256:${weightsHash(
          graph,
          await stateDict(),
          ancestors(
            graph,
            outputs.map((x) => x.node),
          ),
        )}`;
  const key = onnxModelKey({ backbone: b.id, graph, outputs, layout, batchNorm, foldBatchNorm: true, weights });
  const cached = await cachedOnnxModel(cacheDir, b.id, key, build, o.log);
  try {
    return await open(cached.file, cached.info.inputName, cached.file, cached.reused);
  } catch (e) {
    if (!cached.reused) throw e;
    // a cached model damaged after it was written (disk, a hand edit): export it afresh, once
    const why = (e as Error).message.split('\n')[0].slice(0, 200);
    o.log?.(`onnx: cached model ${cached.file} could not be loaded (${why}); re-exporting it`);
    removeCachedModel(cached.file);
    const fresh = await cachedOnnxModel(cacheDir, b.id, key, build);
    return open(fresh.file, fresh.info.inputName, fresh.file, false);
  }
}

/** Why the onnx engine cannot serve this extractor without being told its weights, or null. */
function weightsUnknown(extractor: FeatureExtractor, o: EngineOptions): string | null {
  if (o.weights || isGraphFeatureExtractor(extractor)) return null;
  return `the ${extractor.backbone.id} extractor is not a frozen graph extractor (its weights may have been trained), so its weights cannot be exported`;
}

/**
 * An inference engine for `extractor` up to `points` (names, aliases, 'paper'). 'onnx' fails with
 * a clear error when it is not possible; 'auto' falls back to tfjs and reports why in `notice`
 * (and through `log`).
 */
export async function createInferenceEngine(
  choice: EngineChoice,
  extractor: FeatureExtractor,
  points: string[],
  opts: EngineOptions = {},
): Promise<InferenceEngine> {
  checkEngineChoice(choice);
  const pts = extractor.backbone.resolvePoints(points);
  const layout = opts.layout ?? 'nchw';
  const batchNorm = opts.batchNorm ?? 'eval';
  const tfjs = (notice: string | null) => {
    if (notice) opts.log?.(notice);
    return new TfjsEngine(extractor, pts, layout, batchNorm, notice);
  };
  if (choice === 'tfjs') return tfjs(null);
  if (opts.needsGradients) {
    if (choice === 'onnx')
      throw configError('engine onnx', 'cannot differentiate', 'use engine tfjs (or auto) where gradients flow through the network');
    return tfjs(null);
  }
  const ort = loadOnnxRuntime();
  const unknown = weightsUnknown(extractor, opts);
  if (choice === 'onnx') {
    if (!ort.ok)
      throw new DplError(
        'E_ENGINE',
        `engine onnx is not available: ${ort.reason}`,
        'install onnxruntime-node (an optional dependency of @dpl/core) or use --engine tfjs',
      );
    if (unknown) throw new DplError('E_ENGINE', `engine onnx: ${unknown}`, 'pass the weights, or use the tfjs engine');
    return createOnnxEngine(ort.ort, ort.version, extractor, pts, opts);
  }
  if (!ort.ok) return tfjs(`engine: tfjs (onnxruntime unavailable: ${ort.reason})`);
  if (unknown) return tfjs(`engine: tfjs (${unknown})`);
  try {
    return await createOnnxEngine(ort.ort, ort.version, extractor, pts, opts);
  } catch (e) {
    // an op without an ONNX form, or a model onnxruntime refuses: the executor still works
    const why = (isDplError(e) ? e.message.split('\n')[0] : (e as Error).message).slice(0, 300);
    return tfjs(`engine: tfjs (onnx export or load failed: ${why})`);
  }
}
