/** One entry point for weight files: the format is chosen by content, not by extension. */
import type { ReadWeightsOptions, StateDict } from './state-dict';
import { readPth } from './pth';
import { readSafetensors } from './safetensors';
import { sniffWeightsFormat, type WeightsFormat } from './read-bytes';
import { openWeightsFile } from './weights-file';

export type { WeightsFormat } from './read-bytes';
export { expectBackbone } from './read-bytes';

/** Identifies a weights file by its first bytes (extension only breaks a safetensors tie). */
export async function detectWeightsFormat(path: string): Promise<WeightsFormat> {
  const file = await openWeightsFile(path);
  try {
    return await sniffWeightsFormat(file);
  } finally {
    await file.handle.close();
  }
}

/**
 * Reads a state_dict from a .pth/.pt (zip or legacy) or .safetensors file. Views, sizes and the
 * total (DPL_MAX_WEIGHTS_BYTES) are checked before tensor data is read, then `opts.expect` sees
 * every name and shape; values must be finite.
 */
export async function readWeights(path: string, opts: ReadWeightsOptions = {}): Promise<StateDict> {
  const format = await detectWeightsFormat(path);
  return format === 'safetensors' ? readSafetensors(path, opts) : readPth(path, opts);
}
