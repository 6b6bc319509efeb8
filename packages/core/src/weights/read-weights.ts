/** One entry point for weight files: the format is chosen by content, not by extension. */
import * as nodePath from 'path';
import { weightsError } from '../errors';
import type { ReadWeightsOptions, StateDict, TensorHeader } from './state-dict';
import { readPth } from './pth';
import { looksLikeSafetensors, readSafetensors } from './safetensors';
import { openWeightsFile, readRange } from './weights-file';

/** The weight file formats readWeights knows. */
export type WeightsFormat = 'pth-zip' | 'pth-legacy' | 'safetensors';

/** Identifies a weights file by its first bytes (extension only breaks a safetensors tie). */
export async function detectWeightsFormat(path: string): Promise<WeightsFormat> {
  const file = await openWeightsFile(path);
  try {
    if (file.size === 0) throw weightsError(path, 'is empty (0 bytes)', 're-download it');
    const head = await readRange(file, 0, Math.min(16, file.size), 'header');
    if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pth-zip';
    // safetensors first: a header length of e.g. 0x0580 starts with the same bytes as a pickle
    if (looksLikeSafetensors(head, file.size)) return 'safetensors';
    if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'pth-legacy';
    // A damaged safetensors file still deserves the safetensors reader's precise error.
    if (nodePath.extname(path).toLowerCase() === '.safetensors') return 'safetensors';
    throw weightsError(
      path,
      'is not a weights file this reader knows (expected a PyTorch .pth/.pt checkpoint or .safetensors)',
      'pass a file written by torch.save or safetensors; if it was downloaded, re-download it',
    );
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

/**
 * `opts.expect` for a backbone: its key and shape check (prepareWeights, which reads only keys and
 * shapes) runs on the file's header, so a checkpoint for another network is refused, naming every
 * bad key, before its data is read.
 */
export function expectBackbone(
  backbone: { prepareWeights(sd: StateDict, source: string): StateDict },
  source: string,
): (header: Map<string, TensorHeader>) => void {
  return (header) => {
    const shapesOnly: StateDict = new Map();
    for (const [k, h] of header) shapesOnly.set(k, { dtype: h.dtype, shape: h.shape, data: new Float32Array(0) });
    backbone.prepareWeights(shapesOnly, source);
  };
}
