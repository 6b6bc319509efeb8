import * as tf from '@tensorflow/tfjs-core';
import './gradients';
// registered for their side effect; require() keeps them out of the published .d.ts, which plugin
// authors type-check without skipLibCheck (the wasm typings need Emscripten's)
require('@tensorflow/tfjs-backend-cpu');
require('@tensorflow/tfjs-backend-wasm');
import { configError } from './errors';

/** A backend to ask for (`--backend`, DPL_BACKEND); 'auto' takes the native one, else wasm, else cpu. */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
const CHOICES: BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** The tensor backend in use, the native package that provided it, and why a preferred one was not used. */
export interface BackendInfo {
  /** The tfjs backend name in use: tensorflow (native, tfjs-node[-gpu]), wasm or cpu. */
  name: string;
  /** The package that provided a native backend, when one did. */
  nativePackage?: string;
  /** Why a preferred backend was not used (auto mode). */
  notes: string[];
}

let current: BackendInfo | null = null;

/** Loads the native TensorFlow backend if an optional tfjs-node package is installed and loads. */
function tryNative(notes: string[]): string | undefined {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require(pkg);
      if (tf.findBackend('tensorflow')) return pkg;
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      notes.push(`${pkg}: ${msg.includes('Cannot find module') ? 'not installed' : msg}`);
    }
  }
  return undefined;
}

/**
 * Chooses the tensor backend once per process: the native TensorFlow backend when installed and
 * loadable, else wasm (XNNPACK, SIMD), else cpu. `requested` (or DPL_BACKEND) overrides.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const want = (requested ?? process.env.DPL_BACKEND ?? 'auto').toLowerCase() as BackendChoice;
  if (!CHOICES.includes(want)) {
    throw configError(`backend '${want}'`, 'is not a known backend', `use one of: ${CHOICES.join(', ')}`);
  }
  if (current && (want === 'auto' || want === current.name)) return current;
  tf.env().set('PROD', true); // silences tfjs' "install tfjs-node" banner; dpl chooses itself
  const notes: string[] = [];
  let nativePackage: string | undefined;
  const order: string[] = want === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [want];
  for (const name of order) {
    if (name === 'tensorflow') {
      nativePackage = tryNative(notes);
      if (!nativePackage) {
        if (want !== 'auto')
          throw configError(
            "backend 'tensorflow'",
            `is not available (${notes.join('; ')})`,
            'install @tensorflow/tfjs-node or -node-gpu, or use --backend wasm',
          );
        continue;
      }
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        current = { name, nativePackage: name === 'tensorflow' ? nativePackage : undefined, notes };
        return current;
      }
      notes.push(`${name}: failed to initialise`);
    } catch (e) {
      notes.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw configError(`backend '${want}'`, `could not be initialised (${notes.join('; ')})`);
}

/** The backend chosen by initBackend (or tfjs' current one). */
export function backendName(): string {
  return current?.name ?? tf.getBackend();
}
