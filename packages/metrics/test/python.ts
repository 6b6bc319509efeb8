/** Runs the reference Python (the test kit's referencePython: $DPL_PYTHON or the python3 with torch) for parity tests. */
import { spawnSync } from 'child_process';
import { referencePython } from '@dpl/core/testkit';

export const PYTHON = referencePython().python;

/** Returns null when all modules import, else the reason they do not. */
export function pythonMissing(modules: string[]): string | null {
  const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not runnable: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} lacks ${modules.join(', ')}: ${r.stderr.trim().split('\n').pop()}`;
  return null;
}

/** Runs `script` with `input` on stdin and parses its stdout as JSON. */
export function runPythonJson<T>(script: string, input: string | Buffer = ''): T {
  const r = spawnSync(PYTHON, ['-c', script], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
