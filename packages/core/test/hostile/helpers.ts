/** Shared by the hostile-input tests: a scratch folder, and "refused with this message, nothing written". */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isDplError } from '../../src/errors';

export function scratch(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dpl-hostile-${tag}-`));
}

/** Every name under `dir` with its size (and type), sorted: equal listings mean nothing was written. */
export function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${st.isFile() ? st.size : e.isDirectory() ? 'dir' : 'other'}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Runs `fn`, which must fail with a DplError whose message contains every one of `parts` (strings
 * or patterns); the folder `dir` must be unchanged afterwards. Returns the message.
 */
export async function refused(dir: string, fn: () => Promise<unknown>, ...parts: (string | RegExp)[]): Promise<string> {
  const before = listing(dir);
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeDefined();
  if (!isDplError(error)) throw new Error(`expected a DplError, got: ${String((error as Error)?.stack ?? error)}`);
  for (const p of parts) {
    if (typeof p === 'string') expect(error.message).toContain(p);
    else expect(error.message).toMatch(p);
  }
  expect(listing(dir)).toEqual(before);
  return error.message;
}
