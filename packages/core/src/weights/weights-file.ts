/** Opening and reading weight files with errors that name the path instead of an errno dump. */
import { promises as fs } from 'fs';
import { constants as bufferConstants } from 'buffer';
import { weightsError } from '../errors';
import { openRegularFile } from '../util/regular-file';
import type { WeightsBytes } from './byte-source';

export { readRange, readWhole } from './byte-source';

/** A weights file open for reading; `handle` is closed by whoever opened it. */
export interface WeightsFile extends WeightsBytes {
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
  return {
    path,
    size,
    handle,
    maxLength: bufferConstants.MAX_LENGTH,
    read: async (out, offset, length, position) => (await handle.read(out, offset, length, position)).bytesRead,
  };
}
