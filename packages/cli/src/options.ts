/**
 * Option checks of the built-in commands: the value builders live in @dpl/core (cli-options.ts)
 * so plugin commands share them; the path checks run first thing in a handler, before any work.
 */
import * as fs from 'node:fs';
import { DplError } from '@dpl/core';

export {
  choiceOption,
  intOption,
  isUsageError,
  MAX_SIDE,
  parseInteger,
  positiveNumberOption,
  seedOption,
  textOption,
  usageError,
  type IntRange,
} from '@dpl/core';

/**
 * A path where a folder will be written (`--out DIR`): refused before any work when it exists
 * as something other than a folder, or is a symbolic link loop. Missing is fine (created later).
 */
export function checkOutDir(option: string, dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw pathError(option, dir, code);
  }
  if (!st.isDirectory())
    throw new DplError('E_INPUT', `${option} ${dir}: is an existing file, not a folder`, `name a new or existing folder, not a file`);
}

/** A path where a file will be written (`--out FILE`): refused when it is a folder or a link loop. */
export function checkOutFile(option: string, file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw pathError(option, file, code);
  }
  if (st.isDirectory()) throw new DplError('E_INPUT', `${option} ${file}: is a folder, not a file`, 'name a file, e.g. result.json');
}

/** A clear message for what stat() said about a path the user gave. */
export function pathError(option: string, p: string, code: string | undefined): DplError {
  if (code === 'ELOOP')
    return new DplError(
      'E_INPUT',
      `${option} ${p}: is a symbolic link loop`,
      'point it at a real file or folder (ls -l shows where the links go)',
    );
  if (code === 'ENOTDIR') return new DplError('E_INPUT', `${option} ${p}: a part of the path is a file, not a folder`, 'check the path');
  if (code === 'EACCES' || code === 'EPERM')
    return new DplError('E_INPUT', `${option} ${p}: permission denied`, 'choose a path you may read and write');
  if (code === 'ENOENT') return new DplError('E_INPUT', `${option} ${p}: does not exist`, 'check the path');
  return new DplError('E_INPUT', `${option} ${p}: cannot be used (${code ?? 'unknown error'})`, 'check the path');
}

/** An existing regular file given on the command line (`--input`, `--weights`). */
export function checkInputFile(option: string, file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw pathError(option, file, (e as NodeJS.ErrnoException).code);
  }
  if (!st.isFile()) throw new DplError('E_INPUT', `${option} ${file}: is not a regular file`, 'pass a file (not a folder, pipe or device)');
}
