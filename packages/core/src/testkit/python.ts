/**
 * The reference Python for parity tests: the first of $DPL_PYTHON, /usr/bin/python3 (Debian's
 * python3-torch) and `python3` on PATH that has torch and torchvision. Probed once per test file;
 * every test that runs Python asks here, so no test names an interpreter.
 */
import { spawnSync } from 'node:child_process';

export interface ReferencePython {
  /** The interpreter to run: the one with torch, else the first candidate that runs at all. */
  python: string;
  /** Whether `python` has torch and torchvision. */
  ok: boolean;
  /** Which interpreter has torch, or why none has (each candidate and what it lacks) and the fix. */
  reason: string;
}

/**
 * Which of `modules` `python` lacks ('' when none; undefined when it does not run). Found with
 * importlib's find_spec, not imported: importing torchvision alone takes seconds per test file, and
 * a module that is present but broken makes the reference run itself fail loudly.
 */
function missing(python: string, modules: string[]): string | undefined {
  const code = 'import importlib.util, sys; print(", ".join(n for n in sys.argv[1:] if importlib.util.find_spec(n) is None))';
  const r = spawnSync(python, ['-c', code, ...modules], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

let found: ReferencePython | undefined;

/** The interpreter that has torch and torchvision, found once; `ok: false` with the reason when none has. */
export function referencePython(): ReferencePython {
  if (found) return found;
  const env = process.env.DPL_PYTHON;
  const candidates = [...new Set([...(env ? [env] : []), '/usr/bin/python3', 'python3'])];
  const failures: string[] = [];
  let runs: string | undefined;
  for (const python of candidates) {
    const lacks = missing(python, ['torch', 'torchvision']);
    if (lacks === '') return (found = { python, ok: true, reason: `${python} has torch and torchvision` });
    if (lacks !== undefined) runs ??= python;
    failures.push(lacks === undefined ? `${python} does not run` : `${python} lacks ${lacks}`);
  }
  const fix = 'install python3-torch and python3-torchvision, or set DPL_PYTHON to an interpreter that has them';
  return (found = { python: runs ?? candidates[0], ok: false, reason: `${failures.join('; ')}: ${fix}` });
}

const lacking = new Map<string, string | undefined>();

/**
 * Why the reference Python cannot run tests that need `modules` (undefined when it can); printed as
 * `SKIPPED <what>: <reason>` so that every test that skips says why.
 */
export function pythonLacks(what: string, modules: string[] = ['torch', 'torchvision']): string | undefined {
  const key = modules.join(',');
  if (!lacking.has(key)) {
    const { python, ok, reason } = referencePython();
    const lacks = missing(python, modules);
    lacking.set(
      key,
      lacks === ''
        ? undefined
        : `${lacks === undefined ? `${python} does not run` : `${python} lacks ${lacks}`}${ok ? '' : ` (${reason})`}`,
    );
  }
  const reason = lacking.get(key);
  if (reason) console.warn(`SKIPPED ${what}: ${reason}`);
  return reason;
}
