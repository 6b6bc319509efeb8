import * as fs from 'node:fs';
import * as path from 'node:path';
import { dpl, ROOT, tmpDir } from './helpers';

process.env.DPL_BACKEND = 'wasm';
const TOY_TASK = path.join(ROOT, 'test', 'fixtures', 'toy-task');

describe('dpl run --task (one cell)', () => {
  it('a task plugin outside packages/ is listed and runs on a backbone with random weights', async () => {
    const list = await dpl(['list', 'tasks', '--plugin', TOY_TASK, '--json']);
    expect(list.json<{ id: string; presets: string[] }[]>()).toContainEqual({
      id: 'toy',
      description: expect.any(String),
      presets: ['paper', 'quick'],
    });
    const out = path.join(tmpDir(), 'res.json');
    const r = await dpl([
      'run',
      '--plugin',
      TOY_TASK,
      '--task',
      'toy',
      '--backbone',
      'vgg11',
      '--points',
      'relu1_1,relu2_1',
      '--weights',
      'random',
      '--seed',
      '4',
      '--set',
      'size=40',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/RANDOM weights \(seed 4\)/);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(doc).toMatchObject({
      task: 'toy',
      backend: 'wasm',
      provenance: { kind: 'random', seed: 4 },
      cell: { backbone: 'vgg11', points: ['relu1_1', 'relu2_1'], resolvedConfig: { images: 2, size: 40 } },
    });
    expect(doc.metrics.msq_relu1_1).toBeGreaterThan(0);
    expect(doc.dplVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each([
    [['--task', 'nope', '--backbone', 'vgg11'], /unknown task 'nope'[\s\S]*toy/],
    [['--task', 'toy', '--backbone', 'vgg11', '--preset', 'huge'], /preset 'huge': is not a preset of toy/],
    [['--task', 'toy', '--backbone', 'vgg11', '--set', 'epochs=3'], /config key 'epochs': is not a toy setting/],
    [['--task', 'toy', '--backbone', 'vgg11', '--set', 'oops'], /--set oops: is not key=value/],
    [['--task', 'toy', '--backbone', 'vgg11', '--points', 'relu9'], /no extraction point 'relu9'/],
  ])('bad cell %j fails before any work, naming the problem', async (args, pattern) => {
    const r = await dpl(['run', '--plugin', TOY_TASK, '--weights', 'random', ...args]);
    // a malformed --set is a usage error (2); a well-formed one the task refuses is a config error (1)
    expect(r.code).toBe(args.includes('oops') ? 2 : 1);
    expect(r.err).toMatch(pattern);
  });

  it('the similarity task runs end to end on synthetic BAPPS: six 2AFC splits and JND mAP', async () => {
    const out = path.join(tmpDir(), 'sim.json');
    const r = await dpl([
      'run',
      '--task',
      'similarity',
      '--backbone',
      'squeezenet1_1',
      '--points',
      'paper',
      '--weights',
      'random',
      '--preset',
      'quick',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    const splits = ['traditional', 'cnn', 'superres', 'deblur', 'color', 'frameinterp'];
    for (const s of splits) expect(doc.metrics[`2afc_${s}`]).toBeGreaterThanOrEqual(0);
    expect(doc.metrics['2afc_mean']).toBeCloseTo(splits.reduce((a, s) => a + doc.metrics[`2afc_${s}`], 0) / 6, 12);
    expect(doc.metrics.jnd_map).toBeGreaterThan(0);
    expect(doc.metrics.jnd_map).toBeLessThanOrEqual(1);
    expect(doc.headline).toEqual({ metric: '2afc_mean', higherIsBetter: true });
    expect(doc.provenance).toEqual({ kind: 'random', seed: 0 });
  });
});
