/**
 * Errors a user can cause. Each names the offending input and says how to fix it; the CLI
 * prints `message` (and `hint`) without a stack trace and exits non-zero.
 */
export class DplError extends Error {
  /** Stable machine-readable code, e.g. `E_UNKNOWN_BACKBONE`. */
  readonly code: string;
  /** How to fix it, one sentence. */
  readonly hint?: string;
  constructor(code: string, message: string, hint?: string) {
    super(hint ? `${message}\n  fix: ${hint}` : message);
    this.name = 'DplError';
    this.code = code;
    this.hint = hint;
  }
}

/** The same error with `prefix` (e.g. where in a file) before its message; the fix is kept once. */
export function withContext(e: DplError, prefix: string): DplError {
  const fix = e.hint ? `\n  fix: ${e.hint}` : '';
  const bare = fix && e.message.endsWith(fix) ? e.message.slice(0, -fix.length) : e.message;
  return new DplError(e.code, `${prefix}: ${bare}`, e.hint);
}

/** Duck-typed check: works across duplicate copies of @dpl/core (third-party plugins). */
export function isDplError(e: unknown): e is DplError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && e.name === 'DplError';
}

/** The error for a backbone id no plugin registered, listing the valid ones. */
export const unknownBackbone = (id: string, valid: string[]) =>
  new DplError('E_UNKNOWN_BACKBONE', `unknown backbone '${id}'`, `use one of: ${valid.join(', ') || '(none installed)'}`);

/** The error for a point name a backbone does not have, listing the valid ones. */
export const unknownPoint = (backbone: string, point: string, valid: string[]) =>
  new DplError(
    'E_UNKNOWN_POINT',
    `backbone '${backbone}' has no extraction point '${point}'`,
    `use one of: ${valid.join(', ')} (or 'paper' / 'all'); 'dpl describe ${backbone}' lists them`,
  );

/** A DplError for a bad input a user gave (a path, an image, a value): names it, the problem and the fix. */
export const inputError = (input: string, problem: string, hint?: string) => new DplError('E_INPUT', `${input}: ${problem}`, hint);

/** A DplError for a weight file that cannot be used: names the file, the problem and the fix. */
export const weightsError = (input: string, problem: string, hint?: string) => new DplError('E_WEIGHTS', `${input}: ${problem}`, hint);

/** A DplError for a bad config key, option or value: names it, the problem and the fix. */
export const configError = (input: string, problem: string, hint?: string) => new DplError('E_CONFIG', `${input}: ${problem}`, hint);

/** A DplError for a plugin that cannot be loaded: names the package, the problem and the fix. */
export const pluginError = (pkg: string, problem: string, hint?: string) => new DplError('E_PLUGIN', `plugin '${pkg}': ${problem}`, hint);
