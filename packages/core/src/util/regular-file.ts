/**
 * Only regular files are read: a FIFO would block the open (and the read) forever, a device can
 * stream without end, a directory is a user mistake. The check runs on the path before anything
 * opens it, with messages that say what the path really is.
 */
import { promises as fs, constants as fsConstants, type Stats } from 'fs';
import type { DplError } from '../errors';

/** Builds the caller's error (inputError / weightsError) for `path`. */
export type FileErrorFactory = (path: string, problem: string, hint?: string) => DplError;

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Why `code` (from stat/open) stops a read, in words; undefined for unexpected codes. */
export function describeOpenError(code: string | undefined): { problem: string; hint: string } | undefined {
  if (code === 'ENOENT') return { problem: 'does not exist', hint: 'check the path' };
  if (code === 'ELOOP')
    return { problem: 'is a symbolic link loop (a link that leads back to itself)', hint: 'point the link at a real file' };
  if (code === 'ENOTDIR') return { problem: 'does not exist (a part of the path is not a folder)', hint: 'check the path' };
  if (code === 'EACCES' || code === 'EPERM') return { problem: 'permission denied', hint: 'make the file readable' };
  if (code === 'ENAMETOOLONG') return { problem: 'has a name that is too long', hint: 'check the path' };
  return undefined;
}

/**
 * Stats `path` (following links) and throws `makeError` unless it is a regular file. `what`
 * names the expected content in the message ('an image', 'a weights file').
 */
export async function assertRegularFile(path: string, what: string, makeError: FileErrorFactory, notFoundHint?: string): Promise<Stats> {
  let st: Stats;
  try {
    st = await fs.stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const d = describeOpenError(code);
    if (d) throw makeError(path, d.problem, code === 'ENOENT' && notFoundHint ? notFoundHint : d.hint);
    throw makeError(path, `cannot be read (${code ?? String(e)})`);
  }
  if (!st.isFile()) throw makeError(path, `is ${kindOf(st)}, not ${what}`, `pass the path of ${what} (a regular file)`);
  return st;
}

/**
 * Opens a regular file for reading without ever blocking: O_NONBLOCK makes opening a FIFO that
 * replaced the file since the stat return at once, and fstat then refuses it.
 */
export async function openRegularFile(path: string, what: string, makeError: FileErrorFactory, notFoundHint?: string) {
  await assertRegularFile(path, what, makeError, notFoundHint);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const d = describeOpenError(code);
    throw d ? makeError(path, d.problem, d.hint) : makeError(path, `cannot be opened (${code ?? String(e)})`);
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw makeError(path, `is ${kindOf(st)}, not ${what}`, `pass the path of ${what} (a regular file)`);
  }
  return { handle, size: st.size };
}
