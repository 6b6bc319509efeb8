/**
 * The one entry point for weight files on any byte source (node file or browser bytes): the format
 * is chosen by content, not by extension; read-weights.ts opens files on node.
 */
import { weightsError } from '../errors';
import type { ReadWeightsOptions, StateDict, TensorHeader } from './state-dict';
import { readRange, type WeightsBytes } from './byte-source';
import { readPthFrom, type OpenZip } from './pth-read';
import { looksLikeSafetensors, readSafetensorsFrom } from './safetensors-read';

/** The weight file formats readWeights knows. */
export type WeightsFormat = 'pth-zip' | 'pth-legacy' | 'safetensors';

/** Identifies a weights file by its first bytes (the name's extension only breaks a safetensors tie). */
export async function sniffWeightsFormat(file: WeightsBytes): Promise<WeightsFormat> {
  const path = file.path;
  if (file.size === 0) throw weightsError(path, 'is empty (0 bytes)', 're-download it');
  const head = await readRange(file, 0, Math.min(16, file.size), 'header');
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pth-zip';
  // safetensors first: a header length of e.g. 0x0580 starts with the same bytes as a pickle
  if (looksLikeSafetensors(head, file.size)) return 'safetensors';
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'pth-legacy';
  // A damaged safetensors file still deserves the safetensors reader's precise error.
  if (path.toLowerCase().endsWith('.safetensors')) return 'safetensors';
  throw weightsError(
    path,
    'is not a weights file this reader knows (expected a PyTorch .pth/.pt checkpoint or .safetensors)',
    'pass a file written by torch.save or safetensors; if it was downloaded, re-download it',
  );
}

/**
 * Reads a state_dict from .pth/.pt (zip or legacy) or .safetensors bytes. Views, sizes and the
 * total are checked before tensor data is read, then `opts.expect` sees every name and shape;
 * values must be finite. `openZip` reads the zip container of a .pth.
 */
export async function readWeightsFrom(file: WeightsBytes, opts: ReadWeightsOptions, openZip: OpenZip): Promise<StateDict> {
  const format = await sniffWeightsFormat(file);
  return format === 'safetensors' ? readSafetensorsFrom(file, opts) : readPthFrom(file, opts, openZip);
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
