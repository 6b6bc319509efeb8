/** Opening and reading weight files with errors that name the path instead of an errno dump. */
import { promises as fs } from 'fs';
import { constants as bufferConstants } from 'buffer';
import { weightsError } from '../errors';

export interface WeightsFile {
  path: string;
  size: number;
  handle: fs.FileHandle;
}

export async function openWeightsFile(path: string): Promise<WeightsFile> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw weightsError(path, 'file not found', 'check the path, or run `dpl weights pull <backbone>`');
    if (code === 'EACCES' || code === 'EPERM') throw weightsError(path, 'permission denied', 'make the file readable');
    throw weightsError(path, `cannot open file (${code ?? String(e)})`);
  }
  const st = await handle.stat();
  if (st.isDirectory()) {
    await handle.close();
    throw weightsError(path, 'is a directory, not a weights file', 'pass the path of a .pth or .safetensors file');
  }
  return { path, size: st.size, handle };
}

/**
 * Reads `length` bytes at `position` into a fresh ArrayBuffer (so typed-array views on it are
 * aligned). A short read means the file ends early.
 */
export async function readRange(file: WeightsFile, position: number, length: number, what = 'data'): Promise<Uint8Array> {
  if (length > bufferConstants.MAX_LENGTH) {
    throw weightsError(file.path, `${what} of ${length} bytes exceeds what one buffer can hold`);
  }
  const out = new Uint8Array(new ArrayBuffer(length));
  let done = 0;
  // One read call is limited to 2 GiB; loop in chunks.
  while (done < length) {
    const chunk = Math.min(length - done, 1 << 30);
    const { bytesRead } = await file.handle.read(out, done, chunk, position + done);
    if (bytesRead === 0) {
      throw weightsError(file.path, `is truncated (${what} ends at byte ${position + length}, file has ${file.size}); re-download it`);
    }
    done += bytesRead;
  }
  return out;
}

export const readWhole = (file: WeightsFile) => readRange(file, 0, file.size, 'file');
