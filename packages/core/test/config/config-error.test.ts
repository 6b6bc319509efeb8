/** Whatever a task's config check throws reaches the user as a config error naming the key. */
import { asConfigError, resolveTaskConfig } from '../../src/config/config-error';
import { defineTaskConfig } from '../../src/config/task-config';
import type { Task } from '../../src/contracts/task';
import { isDplError } from '../../src/errors';

const presets = [
  { name: 'quick', description: 'small', config: { steps: 2, lr: 0.1 } },
  { name: 'paper', description: 'the study', config: { steps: 100, lr: 0.01 } },
];

const config = (refine: (c: { steps: number; lr: number }) => void) =>
  defineTaskConfig<{ steps: number; lr: number }>({
    task: 'toy',
    properties: {
      steps: { description: 'optimiser steps', type: 'integer', minimum: 1 },
      lr: { description: 'learning rate', type: 'number', exclusiveMinimum: 0 },
    },
    presets,
    refine,
  });

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
};

describe('task config errors', () => {
  it("defineTaskConfig's result holds the presets it was given", () => {
    expect(config(() => {}).presets).toBe(presets);
  });

  it('a plain Error from a cross-key check becomes a config error naming the key it mentions', () => {
    const cfg = config((c) => {
      if (c.steps * c.lr > 5) throw new Error(`lr too large for ${c.steps} steps`);
    });
    const e = thrown(() => cfg.resolve('quick', { steps: 100 }));
    expect(isDplError(e) && e.code).toBe('E_CONFIG');
    expect((e as Error).message).toMatch(
      /^config key 'lr': lr too large for 100 steps\n {2}fix: fix 'lr' \(dpl describe toy lists every setting\)$/,
    );
  });

  it("a task's own resolveConfig throwing a plain Error, or a string, is a config error (key named when mentioned)", () => {
    const task = {
      id: 'plain',
      description: 'x',
      presets,
      resolveConfig(_p: string, o: Record<string, unknown> = {}) {
        if ('bad' in o) throw new TypeError('bad must be a number');
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test: a plugin that throws a non-Error
        if ('worse' in o) throw 'no good';
        return o;
      },
      run: () => Promise.reject(new Error('not run')),
    } as Task;
    expect(() => resolveTaskConfig(task, 'quick', { bad: 'x' })).toThrow(/^config key 'bad': bad must be a number/);
    const e = thrown(() => resolveTaskConfig(task, 'quick', { worse: 1 }));
    expect(isDplError(e) && e.message).toMatch(/^config key 'worse': no good/);
    expect(resolveTaskConfig(task, 'quick', { ok: 1 })).toEqual({ ok: 1 });
  });

  it('names the config as a whole when no key is mentioned, and keeps a DplError as it is', () => {
    expect(asConfigError(new Error('inconsistent'), 'toy', ['steps']).message).toMatch(/^toy config: inconsistent/);
    const kept = asConfigError(
      thrown(() => config(() => {}).resolve('quick', { steps: 0 })),
      'toy',
      ['steps'],
    );
    expect(kept.message).toMatch(/^config key 'steps': has the value 0/);
  });
});
