/** defineTask: one definition gives the Task's presets, schema and resolveConfig, and a run that gets its config checked. */
import { defineTask } from '../../src/config/define-task';
import { defineTaskConfig } from '../../src/config/task-config';
import type { TaskContext } from '../../src/contracts/task';
import { isDplError } from '../../src/errors';
import { recordingProgress } from '../../src/testkit/task-context';

type ToyConfig = { images: number; mode: 'a' | 'b' };

const CONFIG = defineTaskConfig<ToyConfig>({
  task: 'toy',
  properties: {
    images: { description: 'images', type: 'integer', minimum: 1 },
    mode: { description: 'mode', enum: ['a', 'b'] },
  },
  presets: [
    { name: 'paper', description: 'full', config: { images: 8, mode: 'a' } },
    { name: 'quick', description: 'small', config: { images: 2, mode: 'b' } },
  ],
});

const seen: ToyConfig[] = [];
const toy = defineTask({
  id: 'toy',
  description: 'a test task',
  config: CONFIG,
  run: async (ctx) => {
    seen.push(ctx.config);
    return {
      task: 'toy',
      metrics: { images: ctx.config.images },
      headline: { metric: 'images', higherIsBetter: true },
      provenance: { kind: 'random', seed: 0 },
      backend: 'cpu',
    };
  },
});

const ctxWith = (config: Record<string, unknown>): TaskContext => ({
  // the toy never touches its loss network
  lossNetwork: undefined as never,
  points: [],
  config,
  seed: 0,
  progress: recordingProgress(),
  scratchDir: '/nonexistent',
});

describe('defineTask', () => {
  it('publishes the config: presets, schema, typed resolveConfig', () => {
    expect(toy.presets.map((p) => p.name)).toEqual(['paper', 'quick']);
    expect(Object.keys(toy.configSchema!.properties)).toEqual(['images', 'mode']);
    const cfg: ToyConfig = toy.resolveConfig('quick', { images: 3 });
    expect(cfg).toEqual({ images: 3, mode: 'b' });
  });

  it('runs with the config checked: a valid one reaches run, a bad one is a config error before run', async () => {
    seen.length = 0;
    const r = await toy.run(ctxWith(toy.resolveConfig('paper')));
    expect(r.metrics.images).toBe(8);
    expect(seen).toEqual([{ images: 8, mode: 'a' }]);
    let err: unknown;
    try {
      await toy.run(ctxWith({ images: 0, mode: 'a' }));
    } catch (e) {
      err = e;
    }
    expect(isDplError(err) && err.message).toMatch(/images/);
    await expect(toy.run(ctxWith({ images: 1 }))).rejects.toThrow(/lacks mode/);
    expect(seen).toHaveLength(1);
  });
});
