/** Opening and reading weight files with errors that name the path instead of an errno dump. */
import { promises as fs } from 'fs';
import { constants as bufferConstants } from 'buffer';
import { weightsError } from '../errors';
import { openRegularFile } from '../util/regular-file';

export interface WeightsFile {
  path: string;
  size: number;
  handle: fs.FileHandle;
}

/** Opens a weights file; anything but a regular file (a FIFO, a device, a folder) is refused first. */
export async function openWeightsFile(path: string): Promise<WeightsFile> {
  const { handle, size } = await openRegularFile(
    path,
    'a weights file',
    weightsError,
    'check the path, or run `dpl weights pull <backbone>`',
  );
  return { path, size, handle };
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
