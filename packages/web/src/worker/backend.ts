/** The page's tfjs backend: WebGPU, WebGL, wasm or cpu, the first that starts (or the one asked for). */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendWish } from '../protocol';

// served by the page itself: no request leaves the machine
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasm,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});
tf.env().set('PROD', true);

const AUTO = ['webgpu', 'webgl', 'wasm', 'cpu'];
let current: { wish: BackendWish; name: string; notes: string[] } | null = null;

/** Starts the wished backend (auto: the first that works); notes say why the ones before it were not used. */
export async function useBackend(wish: BackendWish): Promise<{ name: string; notes: string[] }> {
  if (current && current.wish === wish) return current;
  const notes: string[] = [];
  for (const name of wish === 'auto' ? AUTO : [wish]) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        current = { wish, name, notes };
        return current;
      }
      notes.push(`${name}: not available in this browser`);
    } catch (e) {
      notes.push(`${name}: ${(e as Error).message}`);
    }
  }
  // the page stays usable: fall back to cpu, saying why
  await tf.setBackend('cpu');
  await tf.ready();
  notes.push(`${wish} could not start; using cpu`);
  current = { wish, name: 'cpu', notes };
  return current;
}
