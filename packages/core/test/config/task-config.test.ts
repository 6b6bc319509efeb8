/**
 * Task configs from JSON Schema: presets merged with overrides, every key checked by ajv, errors
 * that name the key, the value and what would do; lists from comma-separated strings; presets
 * never mutated through a resolved config; cross-key checks after the per-key ones.
 */
import { configError } from '../../src/errors';
import { defineTaskConfig, expectedValue } from '../../src/config/task-config';
import { dplErrorMessage as messageOf } from '../../src/testkit/task-context';

interface Toy {
  mode: 'a' | 'b';
  steps: number;
  lr: number;
  widths: number[];
  splits: string[];
  cap: number | null;
  nested: number[][];
  flag: boolean;
}

const toy = () =>
  defineTaskConfig<Toy>({
    task: 'toy',
    properties: {
      mode: { description: 'which mode', enum: ['a', 'b'] },
      steps: { description: 'optimiser steps', type: 'integer', minimum: 1 },
      lr: { description: 'learning rate', type: 'number', exclusiveMinimum: 0, maximum: 1 },
      widths: { description: 'channel widths', type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 3, maxItems: 3 },
      splits: { description: 'splits', type: 'array', items: { enum: ['x', 'y', 'z'] }, uniqueItems: true, minItems: 1 },
      cap: { description: 'at most N images', type: ['integer', 'null'], minimum: 2 },
      nested: {
        description: 'hidden layers per probe',
        type: 'array',
        items: { type: 'array', items: { type: 'integer', minimum: 1 } },
        minItems: 1,
        expected: 'a non-empty list of hidden-layer lists, e.g. [[], [32]]',
      },
      flag: { description: 'a switch', type: 'boolean' },
    },
    presets: [
      {
        name: 'paper',
        description: 'p',
        config: { mode: 'a', steps: 10, lr: 0.1, widths: [1, 2, 3], splits: ['x'], cap: null, nested: [[], [4]], flag: false },
      },
      {
        name: 'quick',
        description: 'q',
        config: { mode: 'b', steps: 2, lr: 0.5, widths: [1, 1, 1], splits: ['x', 'y'], cap: 4, nested: [[]], flag: true },
      },
    ],
    refine: (c) => {
      if (c.mode === 'b' && c.steps > 5)
        throw configError("config key 'steps'", `is ${c.steps}, more than mode b allows`, 'use steps <= 5');
    },
  });

describe('defineTaskConfig', () => {
  it('resolves a preset with overrides; the schema lists every key with its description', () => {
    const c = toy();
    expect(c.resolve('paper')).toEqual({
      mode: 'a',
      steps: 10,
      lr: 0.1,
      widths: [1, 2, 3],
      splits: ['x'],
      cap: null,
      nested: [[], [4]],
      flag: false,
    });
    expect(c.resolve('quick', { steps: 3, cap: null })).toMatchObject({ mode: 'b', steps: 3, cap: null });
    expect(c.keys).toEqual(['mode', 'steps', 'lr', 'widths', 'splits', 'cap', 'nested', 'flag']);
    expect(c.schema).toMatchObject({ type: 'object', additionalProperties: false, required: c.keys });
    expect(c.schema.properties.lr.description).toBe('learning rate');
  });

  it('names an unknown preset, an unknown key and a missing key', () => {
    const c = toy();
    expect(messageOf(() => c.resolve('fast'))).toMatch(/preset 'fast': is not a preset of toy\n {2}fix: use one of: paper, quick/);
    expect(messageOf(() => c.resolve('paper', { step: 3 }))).toMatch(
      /config key 'step': is not a toy setting\n {2}fix: use one of: mode, steps/,
    );
    const { lr: _lr, ...partial } = c.resolve('paper');
    expect(messageOf(() => c.check(partial))).toMatch(/toy config: lacks lr/);
  });

  it.each([
    [{ mode: 'c' }, /config key 'mode': has the value "c"\n {2}fix: use one of: a, b$/],
    [{ steps: 0 }, /'steps': has the value 0\n {2}fix: use an integer >= 1$/],
    [{ steps: 2.5 }, /'steps': has the value 2\.5/],
    [{ steps: '3' }, /'steps': has the value "3"/],
    [{ lr: 0 }, /'lr': has the value 0\n {2}fix: use a number in \(0, 1\]$/],
    [{ lr: Number.NaN }, /'lr': has the value NaN/],
    [{ cap: Number.POSITIVE_INFINITY }, /'cap': has the value Infinity/],
    [{ widths: [1, 2] }, /'widths': has the value \[1,2\]\n {2}fix: use a list of 3 integers >= 1$/],
    [
      { splits: ['x', 'w'] },
      /'splits\[1\]': has the value \["x","w"\]\n {2}fix: use a list of values from: x, y, z \(each once, at least 1\)$/,
    ],
    [{ splits: ['x', 'x'] }, /'splits': has the value \["x","x"\]/],
    [{ splits: [] }, /'splits': has the value \[\]/],
    [{ cap: 1 }, /'cap': has the value 1\n {2}fix: use an integer >= 2, or null$/],
    [{ nested: [[1], [0]] }, /'nested\[1\]\[0\]': has the value \[\[1\],\[0\]\]\n {2}fix: use a non-empty list of hidden-layer lists/],
    [{ flag: 'yes' }, /'flag': has the value "yes"\n {2}fix: use true or false$/],
  ])('a bad value %p is named with what would do', (override, re) => {
    expect(messageOf(() => toy().resolve('paper', override))).toMatch(re);
  });

  it('takes comma-separated strings for lists (as --set gives them)', () => {
    const c = toy().resolve('paper', { widths: '4, 5,6', splits: 'y,z' });
    expect(c.widths).toEqual([4, 5, 6]);
    expect(c.splits).toEqual(['y', 'z']);
    expect(messageOf(() => toy().resolve('paper', { widths: '4,x,6' }))).toMatch(/'widths\[1\]': has the value "4,x,6"/);
  });

  it('runs the cross-key check after the per-key ones', () => {
    expect(messageOf(() => toy().resolve('quick', { steps: 6 }))).toMatch(/'steps': is 6, more than mode b allows/);
  });

  it('a resolved config is a copy: changing it leaves the preset alone', () => {
    const c = toy();
    c.resolve('paper').nested[1].push(99);
    expect(c.resolve('paper').nested).toEqual([[], [4]]);
  });

  it('rejects a preset that lacks a key or has an unknown one, and an invalid schema, when defined', () => {
    const props = { n: { description: 'n', type: 'integer' } } as const;
    expect(() =>
      defineTaskConfig<{ n: number }>({ task: 't', properties: props, presets: [{ name: 'p', description: '', config: {} }] }),
    ).toThrow(/t preset 'p': lacks n/);
    expect(() =>
      defineTaskConfig<{ n: number }>({ task: 't', properties: props, presets: [{ name: 'p', description: '', config: { n: 1, m: 2 } }] }),
    ).toThrow(/has unknown m/);
    expect(() =>
      defineTaskConfig<{ n: number }>({ task: 't', properties: { n: { description: 'n', type: 'integr' } }, presets: [] }),
    ).toThrow(/schema of 'n' is invalid/);
  });

  it('refuses keys that reach the prototype (constructor, __proto__, prototype, toString) as unknown settings', () => {
    const c = toy();
    for (const k of ['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty']) {
      // JSON.parse makes '__proto__' an own key, as a parsed suite file or --set would
      const overrides = JSON.parse(`{"${k}": 1}`) as Record<string, unknown>;
      expect(() => c.resolve('quick', overrides)).toThrow(`config key '${k}': is not a toy setting`);
      expect(() => c.check({ ...c.resolve('quick'), ...overrides })).toThrow(`config key '${k}': is not a toy setting`);
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(() =>
      defineTaskConfig<{ constructor: number }>({
        task: 't',
        properties: { constructor: { description: 'c', type: 'integer' } },
        presets: [],
      }),
    ).toThrow(/'constructor' cannot be a setting/);
  });

  it('words the expected value from the schema', () => {
    expect(expectedValue({ type: 'integer', minimum: 16, multipleOf: 16 })).toBe('an integer multiple of 16 >= 16');
    expect(expectedValue({ type: 'number', minimum: 0 })).toBe('a number >= 0');
    expect(expectedValue({ enum: [4, 8] })).toBe('one of: 4, 8');
    expect(expectedValue({ type: ['string', 'null'], minLength: 1 })).toBe('a non-empty string, or null');
    expect(expectedValue({ type: 'array', items: { type: 'number', minimum: 0, exclusiveMaximum: 1 }, minItems: 2, maxItems: 2 })).toBe(
      'a list of 2 numbers in [0, 1)',
    );
  });
});
