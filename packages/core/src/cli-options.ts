/**
 * Option definitions for dpl commands, built-in and contributed by plugins (CliCommand): every
 * value is checked by yargs while it parses (before any handler runs), so a malformed option is
 * a usage error (exit 2) and nothing is done.
 * Values are read as strings and parsed here: yargs' own number parsing turns `abc` into NaN,
 * accepts `1e3`/`0x10`, and a bare `--seed` into undefined.
 */
import type { Options } from 'yargs';
import { DplError, isDplError } from './errors';

/** Largest image side any command accepts (`--size`): 8192 px keeps one float32 RGB image under 1 GB. */
export const MAX_SIDE = 8192;

/** A mistake on the command line (unknown, malformed or conflicting options): exit status 2. */
export const usageError = (message: string, hint?: string) => new DplError('E_USAGE', message, hint);

/** Usage errors: ours, the older E_ARGS ones, and yargs' own (YError). */
export const isUsageError = (e: unknown): boolean =>
  (isDplError(e) && (e.code === 'E_USAGE' || e.code === 'E_ARGS')) || (e instanceof Error && e.name === 'YError');

/** The value of a single-valued option; given twice (yargs makes an array) is an error. */
function once(name: string, v: unknown): string {
  if (Array.isArray(v)) throw usageError(`--${name} is given ${v.length} times (${v.map(String).join(', ')})`, `give --${name} once`);
  if (typeof v !== 'string') throw usageError(`--${name} needs a value`, `e.g. --${name} VALUE`);
  return v;
}

/** A single non-empty string: `--out DIR`. */
export function textOption(name: string, describe: string, extra: Partial<Options> = {}): Options {
  return {
    type: 'string',
    requiresArg: true,
    describe,
    ...extra,
    coerce: (v: unknown) => {
      const s = once(name, v);
      if (!s.trim()) throw usageError(`--${name} is empty`, `give --${name} a value`);
      return s;
    },
  };
}

/** A single value from a fixed list: `--normalize imagenet`. */
export function choiceOption(name: string, choices: readonly string[], describe: string, extra: Partial<Options> = {}): Options {
  return {
    type: 'string',
    requiresArg: true,
    describe: `${describe} (${choices.join(' | ')})`,
    ...extra,
    coerce: (v: unknown) => {
      const s = once(name, v);
      if (!choices.includes(s)) throw usageError(`--${name} ${s} is not one of ${choices.join(', ')}`, `e.g. --${name} ${choices[0]}`);
      return s;
    },
  };
}

/** Inclusive bounds for an integer option. */
export interface IntRange {
  min?: number;
  max?: number;
}

const rangeText = ({ min, max }: IntRange) =>
  min !== undefined && max !== undefined ? `from ${min} to ${max}` : min !== undefined ? `>= ${min}` : max !== undefined ? `<= ${max}` : '';

/** A whole number written in decimal digits (optionally signed), within `range`. */
export function parseInteger(name: string, s: string, range: IntRange = {}): number {
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
  const ok = Number.isSafeInteger(n) && (range.min === undefined || n >= range.min) && (range.max === undefined || n <= range.max);
  if (!ok) throw usageError(`--${name} ${s} is not a whole number ${rangeText(range)}`.trimEnd(), `e.g. --${name} ${range.min ?? 0}`);
  return n;
}

/** A single whole number within `range`: `--workers 2`. */
export function intOption(name: string, describe: string, range: IntRange = {}, extra: Partial<Options> = {}): Options {
  return { type: 'string', requiresArg: true, describe, ...extra, coerce: (v: unknown) => parseInteger(name, once(name, v), range) };
}

/** A single number > `above` (and <= max): `--timeout 30`. */
export function positiveNumberOption(
  name: string,
  describe: string,
  above = 0,
  max = Number.MAX_VALUE,
  extra: Partial<Options> = {},
): Options {
  return {
    type: 'string',
    requiresArg: true,
    describe,
    ...extra,
    coerce: (v: unknown) => {
      const s = once(name, v);
      const n = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
      if (!(Number.isFinite(n) && n > above && n <= max))
        throw usageError(`--${name} ${s} is not a number > ${above}${max < Number.MAX_VALUE ? ` and <= ${max}` : ''}`, `e.g. --${name} 30`);
      return n;
    },
  };
}

/** `--seed N`: a whole number from 0 to 2^32-1, given once and with a value. */
export const seedOption = (describe: string, extra: Partial<Options> = {}): Options =>
  intOption('seed', describe, { min: 0, max: 2 ** 32 - 1 }, extra);
