/**
 * PyTorch checkpoint files on node: the zip container through yauzl (read lazily from the file,
 * so a large checkpoint is never held whole), everything else in pth-read.ts.
 */
import * as yauzl from 'yauzl';
import { weightsError } from '../errors';
import type { ReadWeightsOptions, StateDict } from './state-dict';
import { MAX_ZIP_ENTRIES, notACheckpoint, readPthFrom, type ZipArchive, type ZipEntryInfo } from './pth-read';
import { openWeightsFile, readRange, type WeightsFile } from './weights-file';

/** Reads a .pth/.pt checkpoint holding a state_dict (possibly under 'state_dict' or 'model'). */
export async function readPth(path: string, opts: ReadWeightsOptions = {}): Promise<StateDict> {
  const file = await openWeightsFile(path);
  try {
    return await readPthFrom(file, opts, (f) => openZip(f as WeightsFile));
  } finally {
    await file.handle.close();
  }
}

/** The zip's directory through yauzl on our own (checked, regular-file) descriptor. */
export function openZip(file: WeightsFile): Promise<ZipArchive> {
  const path = file.path;
  return new Promise((resolve, reject) => {
    // The descriptor belongs to file.handle, which readPth closes: zip.close() is never called, as
    // it would close the descriptor a second time.
    yauzl.fromFd(file.handle.fd, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(notACheckpoint(path, err?.message ?? 'unreadable zip'));
      if (zip.entryCount > MAX_ZIP_ENTRIES) {
        return reject(notACheckpoint(path, `${zip.entryCount} zip entries, more than any checkpoint has`));
      }
      const entries: (ZipEntryInfo & { entry: yauzl.Entry })[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        entries.push({ name: e.fileName, uncompressedSize: e.uncompressedSize, entry: e });
        zip.readEntry();
      });
      zip.on('end', () => resolve({ entries, read: (e) => readEntry(file, zip, (e as ZipEntryInfo & { entry: yauzl.Entry }).entry) }));
      zip.on('error', (e: Error) => reject(notACheckpoint(path, e.message)));
      zip.readEntry();
    });
  });
}

/** One entry's bytes: stored entries straight from the file into their own aligned buffer, deflated ones through yauzl. */
async function readEntry(file: WeightsFile, zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Uint8Array> {
  const what = `zip entry '${entry.fileName}'`;
  if (entry.isEncrypted()) throw weightsError(file.path, `${what} is encrypted`, 'save the checkpoint again with torch.save');
  if (entry.compressionMethod === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw notACheckpoint(
        file.path,
        `${what} is stored uncompressed but declares ${entry.compressedSize} and ${entry.uncompressedSize} bytes`,
      );
    }
    // Stored (torch never compresses)
    const lfh = await readRange(file, entry.relativeOffsetOfLocalHeader, 30, what);
    const dv = new DataView(lfh.buffer);
    if (dv.getUint32(0, true) !== 0x04034b50) throw notACheckpoint(file.path, `bad local header for ${what}`);
    const start = entry.relativeOffsetOfLocalHeader + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
    if (start + entry.compressedSize > file.size) throw notACheckpoint(file.path, `${what} runs past the end of the file`);
    return readRange(file, start, entry.compressedSize, what);
  }
  if (entry.compressionMethod !== 8) {
    throw weightsError(file.path, `${what} uses unsupported zip compression method ${entry.compressionMethod}`);
  }
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(notACheckpoint(file.path, err?.message ?? `cannot read ${what}`));
      const out = new Uint8Array(new ArrayBuffer(entry.uncompressedSize));
      let at = 0;
      stream.on('data', (chunk: Buffer) => {
        if (at + chunk.length <= out.length) out.set(chunk, at);
        at += chunk.length;
      });
      stream.on('error', (e: Error) => reject(notACheckpoint(file.path, `${what}: ${e.message}`)));
      stream.on('end', () =>
        at === out.length
          ? resolve(out)
          : reject(notACheckpoint(file.path, `${what} holds ${at} bytes, not the ${out.length} it declares`)),
      );
    });
  });
}
