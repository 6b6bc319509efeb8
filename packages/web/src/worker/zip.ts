/**
 * The zip container of a .pth checkpoint in the browser, through fflate (node uses yauzl on the
 * file). Everything about the checkpoint itself (entry names, sizes, the pickle, the tensors) is
 * checked by core's pth-read.ts, the same code the CLI runs.
 */
import { unzipSync, type UnzipFileInfo } from 'fflate';
// core's modules by path (not its index): the node tests of this reader (packages/web/test) type-check the same imports
import { weightsError } from '../../../core/src/errors';
import type { WeightsBytes } from '../../../core/src/weights/byte-source';
import type { OpenZip, ZipEntryInfo } from '../../../core/src/weights/pth-read';

/** The page holds the whole file anyway: its bytes, read once. */
async function allBytes(file: WeightsBytes): Promise<Uint8Array> {
  const out = new Uint8Array(file.size);
  let done = 0;
  while (done < file.size) {
    const n = await file.read(out, done, file.size - done, done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
}

const bad = (path: string, e: unknown) =>
  weightsError(path, `is truncated or not a valid PyTorch checkpoint; re-download it (${(e as Error).message})`);

export const openZipInMemory: OpenZip = async (file) => {
  const data = await allBytes(file);
  const entries: ZipEntryInfo[] = [];
  try {
    // the directory only: the filter sees every entry and extracts none
    unzipSync(data, {
      filter: (f: UnzipFileInfo) => {
        entries.push({ name: f.name, uncompressedSize: f.originalSize });
        return false;
      },
    });
  } catch (e) {
    throw bad(file.path, e);
  }
  return {
    entries,
    read: async (entry) => {
      let seen = 0;
      let out: Record<string, Uint8Array>;
      try {
        out = unzipSync(data, {
          filter: (f: UnzipFileInfo) => {
            if (f.name !== entry.name) return false;
            if (f.compression !== 0 && f.compression !== 8) {
              throw weightsError(file.path, `zip entry '${f.name}' uses unsupported zip compression method ${f.compression}`);
            }
            seen++;
            return true;
          },
        });
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('E_')) throw e;
        throw bad(file.path, e);
      }
      if (seen !== 1 || !out[entry.name]) throw bad(file.path, new Error(`zip entry '${entry.name}' cannot be read`));
      return out[entry.name];
    },
  };
};
