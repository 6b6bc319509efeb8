/**
 * Random access to a weights file's bytes, whatever holds them: a file handle (node, weights-file.ts)
 * or bytes already in memory (the browser page, which reads a dropped file with File.arrayBuffer()).
 * The readers take this, so the same checks run on both.
 */
import { weightsError } from '../errors';

export interface WeightsBytes {
  /** Names the file in messages. */
  path: string;
  size: number;
  /** Reads up to `length` bytes at `position` into `out` at `offset`; resolves to how many were read (0 past the end). */
  read(out: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** The most bytes one buffer may hold here (node's buffer.constants.MAX_LENGTH). */
  maxLength?: number;
}

/** Weights held in memory, named `path` in messages. */
export function memoryWeights(path: string, bytes: Uint8Array): WeightsBytes {
  return {
    path,
    size: bytes.length,
    read: (out, offset, length, position) => {
      const n = Math.max(0, Math.min(length, bytes.length - position));
      out.set(bytes.subarray(position, position + n), offset);
      return Promise.resolve(n);
    },
  };
}

/**
 * Reads `length` bytes at `position` into a fresh ArrayBuffer (so typed-array views on it are
 * aligned). A short read means the file ends early.
 */
export async function readRange(file: WeightsBytes, position: number, length: number, what = 'data'): Promise<Uint8Array> {
  if (length > (file.maxLength ?? Number.MAX_SAFE_INTEGER)) {
    throw weightsError(file.path, `${what} of ${length} bytes exceeds what one buffer can hold`);
  }
  let out: Uint8Array;
  try {
    out = new Uint8Array(new ArrayBuffer(length));
  } catch {
    throw weightsError(file.path, `${what} of ${length} bytes exceeds what one buffer can hold`);
  }
  let done = 0;
  // One read call is limited to 2 GiB; loop in chunks.
  while (done < length) {
    const chunk = Math.min(length - done, 1 << 30);
    const bytesRead = await file.read(out, done, chunk, position + done);
    if (bytesRead === 0) {
      throw weightsError(file.path, `is truncated (${what} ends at byte ${position + length}, file has ${file.size}); re-download it`);
    }
    done += bytesRead;
  }
  return out;
}

export const readWhole = (file: WeightsBytes) => readRange(file, 0, file.size, 'file');
