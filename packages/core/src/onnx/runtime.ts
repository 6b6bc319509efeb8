/**
 * onnxruntime-node is an optional dependency: it is loaded with a guarded require, so @dpl/core
 * installs, builds and runs without it. The types below are the small part of its API dpl uses,
 * declared here so the type check does not need the package either.
 */
import * as os from 'node:os';
import * as vm from 'node:vm';

/** The part of an onnxruntime-node tensor dpl uses. */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
  dispose?(): void;
}

/** The onnxruntime-node session options dpl sets. */
export interface OrtSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  executionMode?: 'sequential' | 'parallel';
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  executionProviders?: string[];
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/** The part of an onnxruntime-node session dpl uses. */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** The part of the onnxruntime-node module dpl uses (an optional package, loaded at run time). */
export interface OrtModule {
  InferenceSession: { create(model: string | Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: { versions?: Record<string, string> };
}

/** onnxruntime-node loaded, or why not. */
export type OrtLoad = { ok: true; ort: OrtModule; version: string } | { ok: false; reason: string };

let loaded: OrtLoad | undefined;

/**
 * onnxruntime-node, or why it cannot be used. DPL_NO_ONNX=1 hides it (to test the fallback, or
 * to rule the native engine out).
 */
export function loadOnnxRuntime(): OrtLoad {
  if (process.env.DPL_NO_ONNX === '1') return { ok: false, reason: 'disabled by DPL_NO_ONNX=1' };
  if (!loaded) {
    try {
      const ort = require('onnxruntime-node') as OrtModule;
      // the native binding makes its output arrays in Node's main context; under a vm sandbox
      // with typed arrays of its own (jest's default environment) onnxruntime's JS wrapper rejects them
      loaded =
        vm.runInThisContext('Float32Array') !== Float32Array
          ? {
              ok: false,
              reason:
                "this code runs in a vm sandbox whose Float32Array is not Node's (jest's default environment), so onnxruntime-node's outputs would be rejected; use packages/core/test/onnx/ort-environment.js as the jest environment",
            }
          : { ok: true, ort, version: ort.env?.versions?.node ?? ort.env?.versions?.common ?? 'unknown' };
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      loaded = { ok: false, reason: msg.includes("Cannot find module 'onnxruntime-node'") ? 'onnxruntime-node is not installed' : msg };
    }
  }
  return loaded;
}

/** The machine's core count. */
export const coreCount = (): number => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);

/**
 * onnxruntime's intra-op threads: DPL_ONNX_THREADS when set (worker processes that share the
 * machine set it to their share), else one per core.
 */
export function defaultThreads(): number {
  const env = Number(process.env.DPL_ONNX_THREADS);
  return Number.isInteger(env) && env >= 1 ? env : coreCount();
}

/** Session options for inference on the CPU: every graph optimisation, one thread per core. */
export function sessionOptions(threads?: number): OrtSessionOptions {
  return {
    intraOpNumThreads: threads ?? defaultThreads(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
  };
}
