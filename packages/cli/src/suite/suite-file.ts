import * as fs from 'node:fs';
import Ajv, { type ErrorObject } from 'ajv';
import { Document, LineCounter, parseDocument, isMap, isPair, isScalar, type Node } from 'yaml';
import { configError, DplError } from '@dpl/core';

/** One use case in a suite: a task with its preset and overrides, on the suite's grid unless narrowed. */
export interface SuiteTaskEntry {
  task: string;
  preset?: string;
  overrides?: Record<string, unknown>;
  /** Dataset root (relative to the suite file); absent or null for the task's synthetic data. */
  data?: string | null;
  backbones?: string[] | 'study';
  points?: string | string[];
  seeds?: number[];
  weights?: WeightsMode;
  /** One cell with all the points together (LPIPS-style) instead of a cell per point. */
  combinePoints?: boolean;
}

/** random: seeded random weights; pretrained: the weight cache (an error when not cached); auto: cached, else random. */
export type WeightsMode = 'random' | 'pretrained' | 'auto';

export interface SuiteFile {
  name?: string;
  description?: string;
  backbones?: string[] | 'study';
  points?: string | string[];
  seeds?: number[];
  weights?: WeightsMode;
  preset?: string;
  tasks: SuiteTaskEntry[];
}

const backbones = { oneOf: [{ const: 'study' }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] };
const points = {
  oneOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
  ],
};
const seeds = { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 };
const weights = { enum: ['random', 'pretrained', 'auto'] };

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['tasks'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    backbones,
    points,
    seeds,
    weights,
    preset: { type: 'string' },
    tasks: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['task'],
        properties: {
          task: { type: 'string', minLength: 1 },
          preset: { type: 'string' },
          overrides: { type: 'object' },
          data: { type: ['string', 'null'] },
          backbones,
          points,
          seeds,
          weights,
          combinePoints: { type: 'boolean' },
        },
      },
    },
  },
};

/** YAML aliases (`*name`) a suite may use: yaml counts each alias's expanded nodes against this. */
const MAX_ALIASES = 100;

const validate = new Ajv({ allErrors: true }).compile<SuiteFile>(SCHEMA);

/** ` (tasks[0].preset)` */
const keyPath = (p: (string | number)[]) =>
  p.length ? ` (${p.map((k) => (typeof k === 'number' ? `[${k}]` : k)).join('.')})`.replace(/\.\[/g, '[') : '';

/** A parsed suite that can say where in its file a key is. */
export class LoadedSuite {
  constructor(
    readonly file: string,
    readonly suite: SuiteFile,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** `file:line:col (key.path)` for a path into the suite, as close as the file allows. */
  where(p: (string | number)[]): string {
    let node: unknown = null;
    for (let n = p.length; n >= 0 && !node; n--) node = this.doc.getIn(p.slice(0, n), true);
    const range = (node as Node | null)?.range;
    const at = range ? this.lines.linePos(range[0]) : { line: 1, col: 1 };
    return `${this.file}:${at.line}:${at.col}${keyPath(p)}`;
  }

  /** The position of a map key itself (for "unknown key" errors). */
  whereKey(parent: (string | number)[], key: string): string {
    const map = this.doc.getIn(parent, true);
    if (isMap(map)) {
      const pair = map.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === key);
      const r = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (r) {
        const at = this.lines.linePos(r[0]);
        return `${this.file}:${at.line}:${at.col}${keyPath([...parent, key])}`;
      }
    }
    return this.where([...parent, key]);
  }
}

const toPath = (pointer: string): (string | number)[] =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));

function describeError(s: LoadedSuite, e: ErrorObject): string {
  const p = toPath(e.instancePath);
  if (e.keyword === 'additionalProperties') {
    const k = (e.params as { additionalProperty: string }).additionalProperty;
    return `${s.whereKey(p, k)}: unknown key '${k}'`;
  }
  if (e.keyword === 'required') return `${s.where(p)}: missing key '${(e.params as { missingProperty: string }).missingProperty}'`;
  if (e.keyword === 'enum') return `${s.where(p)}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  return `${s.where(p)}: ${e.message}`;
}

/** Reads and validates a suite file (YAML or JSON); errors name the file, line and key. */
export function loadSuite(file: string): LoadedSuite {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw configError(`suite ${file}`, 'cannot be read', 'check the path (suites/quick.yaml and suites/paper.yaml ship with dpl)');
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const at = e.linePos?.[0];
    throw new DplError(
      'E_CONFIG',
      `suite ${file}${at ? `:${at.line}:${at.col}` : ''} is not valid YAML/JSON: ${e.message.split('\n')[0]}`,
      'fix the syntax at that line',
    );
  }
  let data: unknown;
  try {
    // a suite needs a handful of aliases at most; many more is an alias bomb (billions of nodes from a few lines)
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    throw new DplError(
      'E_CONFIG',
      `suite ${file} cannot be expanded: ${(e as Error).message}`,
      `use at most ${MAX_ALIASES} YAML aliases (*name), and no alias inside its own anchor`,
    );
  }
  const loaded = new LoadedSuite(file, data as SuiteFile, doc, lines);
  if (!validate(data)) {
    // the most specific errors first; oneOf's umbrella message adds nothing
    const errs = (validate.errors ?? []).filter((e) => e.keyword !== 'oneOf');
    const seen = new Set<string>();
    const msgs = errs.map((e) => describeError(loaded, e)).filter((m) => !seen.has(m) && seen.add(m));
    throw new DplError(
      'E_CONFIG',
      `suite ${file} is invalid:\n  ${msgs.slice(0, 8).join('\n  ')}`,
      'see suites/quick.yaml for the format (tasks: [{task, preset, overrides, data, backbones, points, seeds, weights}])',
    );
  }
  return loaded;
}
