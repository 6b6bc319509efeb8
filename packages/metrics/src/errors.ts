/**
 * Input errors for @dpl/metrics. The package stays dependency-free (pure TypeScript on typed
 * arrays), so instead of importing @dpl/core's `DplError` it throws a structurally identical
 * error: `name === 'DplError'` and `code === 'E_INPUT'`, which is exactly what core's duck-typed
 * `isDplError` checks, so the CLI reports these like any other user error.
 */
export class MetricsInputError extends Error {
  readonly code = 'E_INPUT';
  readonly hint?: string;
  constructor(input: string, problem: string, hint?: string) {
    super(hint ? `${input}: ${problem}\n  fix: ${hint}` : `${input}: ${problem}`);
    this.name = 'DplError';
    this.hint = hint;
  }
}

/** A MetricsInputError naming the input, the problem and the fix. */
export const metricsInputError = (input: string, problem: string, hint?: string) => new MetricsInputError(input, problem, hint);

/** Throws unless the arrays have the same length. */
export function assertSameLength(names: [string, string], a: ArrayLike<unknown>, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) {
    throw metricsInputError(
      names[1],
      `has length ${b.length} but ${names[0]} has length ${a.length}`,
      'pass one value per item in both arrays',
    );
  }
}

/** Throws if the array is empty (a mean over nothing is undefined). */
export function assertNonEmpty(name: string, a: ArrayLike<unknown>): void {
  if (a.length === 0) throw metricsInputError(name, 'is empty', 'pass at least one item');
}
