/**
 * Task configurations as JSON Schema: every key of a task's config is one schema property with a
 * description, validated by ajv. One definition gives the checks, the error messages (naming the
 * key, the value and what would do), the list of keys, and what `dpl describe <task>` prints.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import type { TaskPreset } from '../contracts/task';
import type { ConfigProperty, TaskConfigSchema } from '../contracts/task-schema';
import { configError } from '../errors';
import { asConfigError } from './config-error';

export type { ConfigProperty, TaskConfigSchema } from '../contracts/task-schema';

/** What defineTaskConfig needs: the task id, one schema property per key, the presets and cross-key checks. */
export interface TaskConfigSpec<T> {
  /** The task id, for messages ("is not a segmentation setting"). */
  task: string;
  properties: { [K in keyof T & string]: ConfigProperty };
  presets: TaskPreset[];
  /** Checks across keys, after every key passed its schema; throws a configError. */
  refine?: (config: T) => void;
}

/** A task's checked configuration: schema, keys, presets, and the resolve and check functions. */
export interface TaskConfig<T> {
  readonly schema: TaskConfigSchema;
  readonly keys: (keyof T & string)[];
  /** The presets it was given (Task.presets). */
  readonly presets: TaskPreset[];
  /** Preset merged with overrides, every key checked; names an unknown preset or key, or a bad value. */
  resolve(preset: string, overrides?: Record<string, unknown>): T;
  /** Checks an already merged config (what TaskContext.config holds): every key known, present and valid. */
  check(config: Record<string, unknown>): T;
}

/** Keys that reach an object's prototype (`{}.constructor`, `__proto__`): never a setting, in a task or an override. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
ajv.addKeyword({ keyword: 'expected', schemaType: 'string' });

const range = (p: Omit<ConfigProperty, 'description'>): string | null => {
  const lo = p.exclusiveMinimum ?? p.minimum;
  const hi = p.exclusiveMaximum ?? p.maximum;
  if (lo !== undefined && hi !== undefined)
    return `in ${p.exclusiveMinimum !== undefined ? '(' : '['}${lo}, ${hi}${p.exclusiveMaximum !== undefined ? ')' : ']'}`;
  if (lo !== undefined) return `${p.exclusiveMinimum !== undefined ? '>' : '>='} ${lo}`;
  if (hi !== undefined) return `${p.exclusiveMaximum !== undefined ? '<' : '<='} ${hi}`;
  return null;
};

/** "an integer >= 1", "one of: eval, train", "a list of 4 integers >= 1, or null", ... */
export function expectedValue(p: Omit<ConfigProperty, 'description'>): string {
  if (p.expected) return p.expected;
  const types = (Array.isArray(p.type) ? p.type : p.type ? [p.type] : []).filter((t) => t !== 'null');
  const nullable = Array.isArray(p.type) && p.type.includes('null');
  let s: string;
  if (p.enum) s = `one of: ${p.enum.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`;
  else if (types[0] === 'integer' || types[0] === 'number') {
    const r = range(p);
    s = `${types[0] === 'integer' ? 'an integer' : 'a number'}${p.multipleOf ? ` multiple of ${p.multipleOf}` : ''}${r ? ` ${r}` : ''}`;
  } else if (types[0] === 'boolean') s = 'true or false';
  else if (types[0] === 'string') s = p.minLength ? 'a non-empty string' : 'a string';
  else if (types[0] === 'array') {
    const count = p.minItems !== undefined && p.minItems === p.maxItems ? `${p.minItems} ` : '';
    const it = p.items ?? {};
    const r = range(it);
    const what = it.enum
      ? `values from: ${it.enum.join(', ')}`
      : it.type === 'integer' || it.type === 'number'
        ? `${it.type}s${r ? ` ${r}` : ''}`
        : 'values';
    const notes = [p.uniqueItems ? 'each once' : '', !count && p.minItems ? `at least ${p.minItems}` : ''].filter(Boolean);
    s = `a list of ${count}${what}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  } else s = types.join(' or ') || 'a value';
  return nullable ? `${s}, or null` : s;
}

/** A comma-separated string where a list is expected (as `--set key=a,b` gives): split, numbers parsed. */
function coerceList(p: ConfigProperty, v: unknown): unknown {
  const isList = p.type === 'array' || (Array.isArray(p.type) && p.type.includes('array'));
  if (!isList || typeof v !== 'string') return v;
  const parts = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const numeric = p.items?.type === 'integer' || p.items?.type === 'number';
  return numeric ? parts.map((s) => (s !== '' && Number.isFinite(Number(s)) ? Number(s) : s)) : parts;
}

/** A value as the user wrote it (JSON, but NaN and Infinity as such). */
const show = (v: unknown): string => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v));

/** The config of one task, from a schema per key and its presets. */
export function defineTaskConfig<T>(spec: TaskConfigSpec<T>): TaskConfig<T> {
  const properties = spec.properties as Record<string, ConfigProperty>;
  const keys = Object.keys(properties) as (keyof T & string)[];
  const validators = new Map<string, ValidateFunction>();
  for (const k of keys) {
    try {
      validators.set(k, ajv.compile(properties[k]));
    } catch (e) {
      throw new Error(`${spec.task} config: the schema of '${k}' is invalid: ${(e as Error).message}`);
    }
  }
  for (const k of keys)
    if (PROTOTYPE_KEYS.has(k)) throw new Error(`${spec.task} config: '${k}' cannot be a setting (it names an object's prototype)`);
  const known = (k: string) => Object.hasOwn(properties, k) && !PROTOTYPE_KEYS.has(k);
  const schema: TaskConfigSchema = { type: 'object', properties, required: [...keys], additionalProperties: false };
  for (const p of spec.presets) {
    const missing = keys.filter((k) => !Object.hasOwn(p.config, k));
    const extra = Object.keys(p.config).filter((k) => !known(k));
    if (missing.length || extra.length)
      throw new Error(
        `${spec.task} preset '${p.name}': ${[...missing.map((k) => `lacks ${k}`), ...extra.map((k) => `has unknown ${k}`)].join('; ')}`,
      );
  }

  const unknownKey = (k: string) =>
    configError(
      `config key '${k}'`,
      `is not ${/^[aeiou]/i.test(spec.task) ? 'an' : 'a'} ${spec.task} setting`,
      `use one of: ${keys.join(', ')}`,
    );

  const check = (config: Record<string, unknown>): T => {
    for (const k of Object.keys(config)) if (!known(k)) throw unknownKey(k);
    const missing = keys.filter((k) => !Object.hasOwn(config, k));
    if (missing.length)
      throw configError(
        `${spec.task} config`,
        `lacks ${missing.join(', ')}`,
        "resolve it with the task's resolveConfig(preset, overrides)",
      );
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = coerceList(properties[k], structuredClone(config[k]));
      const validate = validators.get(k)!;
      if (!validate(v)) {
        const err = validate.errors?.[0];
        const where = err?.instancePath ? `${k}${err.instancePath.replace(/\/(\d+)/g, '[$1]').replace(/\/([^/]+)/g, '.$1')}` : k;
        throw configError(`config key '${where}'`, `has the value ${show(config[k])}`, `use ${expectedValue(properties[k])}`);
      }
      out[k] = v;
    }
    const cfg = out as T;
    try {
      spec.refine?.(cfg);
    } catch (e) {
      throw asConfigError(e, spec.task, keys); // a plain Error from a check too
    }
    return cfg;
  };

  const resolve = (preset: string, overrides: Record<string, unknown> = {}): T => {
    const p = spec.presets.find((x) => x.name === preset);
    if (!p)
      throw configError(
        `preset '${preset}'`,
        `is not a preset of ${spec.task}`,
        `use one of: ${spec.presets.map((x) => x.name).join(', ')}`,
      );
    for (const k of Object.keys(overrides)) if (!known(k)) throw unknownKey(k);
    return check({ ...p.config, ...overrides });
  };

  return { schema, keys, presets: spec.presets, resolve, check };
}
