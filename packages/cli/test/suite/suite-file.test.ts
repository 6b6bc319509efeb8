import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRegistry, type Registry } from '@dpl/core';
import { expandSuite, cellHash, canonicalJson } from '../../src/suite/grid';
import { parseFilter } from '../../src/suite/filter';
import { loadSuite } from '../../src/suite/suite-file';
import { dpl, ROOT, tmpDir } from '../helpers';

const TOY_TASK = path.join(ROOT, 'test', 'fixtures', 'toy-task');
let reg: Registry;
beforeAll(async () => {
  reg = await createRegistry({ cwd: ROOT, plugins: [TOY_TASK] });
});

function suiteFile(text: string, name = 'suite.yaml'): string {
  const f = path.join(tmpDir('dpl-suite-'), name);
  fs.writeFileSync(f, text);
  return f;
}

const expectThrow = (fn: () => unknown, re: RegExp) => {
  let msg = '';
  try {
    fn();
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toMatch(re);
};

describe('suite files', () => {
  it('the shipped suites validate and expand (quick: 3 nets x 4 points x 4 tasks; paper: 14 x 4 x 5 use cases + 2 pixel baselines)', () => {
    const quick = expandSuite(loadSuite(path.join(ROOT, 'suites', 'quick.yaml')), reg);
    expect(quick).toHaveLength(48);
    expect(new Set(quick.map((c) => c.task))).toEqual(new Set(['similarity', 'super-resolution', 'segmentation', 'autoencoder']));
    const problems: string[] = [];
    const paper = expandSuite(loadSuite(path.join(ROOT, 'suites', 'paper.yaml')), reg, { problems });
    // similarity, super-resolution, segmentation, autoencoder on STL-10 and on SVHN, and the
    // pixel-loss autoencoder baseline once per data set (docs/PROTOCOL.md section 6)
    expect(paper).toHaveLength(14 * 4 * 5 + 2);
    expect(paper.filter((c) => (c.config.taskConfig as { loss?: string }).loss === 'pixel')).toHaveLength(2);
    expect(new Set(paper.map((c) => c.preset))).toEqual(new Set(['paper']));
    expect(new Set(paper.map((c) => c.hash)).size).toBe(paper.length);
  });

  it('an unknown key is reported with its line, column and key path', () => {
    const f = suiteFile('name: t\nbackbones: [vgg11]\ntasks:\n  - task: toy\n    presset: quick\n');
    expectThrow(
      () => loadSuite(f),
      new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:5 \\(tasks\\[0\\]\\.presset\\): unknown key 'presset'`),
    );
  });

  it('a wrong type names the line of the value, and a YAML syntax error its line', () => {
    expectThrow(
      () => loadSuite(suiteFile('backbones: [vgg11]\nseeds: [0, -1]\ntasks:\n  - task: toy\n')),
      /:2:\d+ \(seeds\[1\]\): must be >= 0/,
    );
    expectThrow(() => loadSuite(suiteFile('tasks: [\n  {task: toy\n')), /suite .*suite\.yaml:\d+:\d+ is not valid YAML/);
    expectThrow(() => loadSuite(suiteFile('backbones: [vgg11]\n')), /missing key 'tasks'/);
    expectThrow(
      () => loadSuite(suiteFile('backbones: [vgg11]\nweights: maybe\ntasks: [{task: toy}]\n')),
      /\(weights\): must be one of random, pretrained, auto/,
    );
    expectThrow(() => loadSuite('/nonexistent/suite.yaml'), /suite \/nonexistent\/suite\.yaml: cannot be read/);
  });

  it('JSON suites work too', () => {
    const f = suiteFile(
      JSON.stringify({ backbones: ['vgg11'], points: ['E1', 'E2'], weights: 'random', tasks: [{ task: 'toy' }] }),
      's.json',
    );
    const cells = expandSuite(loadSuite(f), reg);
    expect(cells.map((c) => c.points[0])).toEqual(['relu1_1', 'relu2_1']);
  });

  it('unknown task, preset, config key, backbone and point fail at expansion, naming the suite line', () => {
    const cases: [string, RegExp][] = [
      ['backbones: [vgg11]\ntasks:\n  - task: nosuchtask\n', /:3:\d+ \(tasks\[0\]\.task\): .*nosuchtask/],
      ['backbones: [vgg11]\ntasks:\n  - task: toy\n    preset: huge\n', /:4:\d+ \(tasks\[0\]\.preset\): .*preset 'huge'/],
      ['backbones: [vgg11]\ntasks:\n  - task: toy\n    overrides: { imagez: 3 }\n', /:4:18 \(tasks\[0\]\.overrides\.imagez\): .*'imagez'/],
      ['backbones: [vgg11, notanet]\ntasks:\n  - task: toy\n', /:1:\d+ \(backbones\[1\]\): .*notanet/],
      ['backbones: [vgg11]\npoints: [relu1_1, nopoint]\ntasks:\n  - task: toy\n', /:2:\d+ \(points\): .*nopoint/],
    ];
    for (const [text, re] of cases) expectThrow(() => expandSuite(loadSuite(suiteFile(text)), reg), re);
  });

  it('a bad override value of a real task is named at its own line and column, with the fix once', () => {
    const text =
      'backbones: [vgg11]\nweights: random\ntasks:\n  - task: segmentation\n    overrides:\n      epochs: 2\n      widths: [8, 16, 0, 32]\n';
    let msg = '';
    try {
      expandSuite(loadSuite(suiteFile(text)), reg);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/:7:23 \(tasks\[0\]\.overrides\.widths\[2\]\): config key 'widths\[2\]': has the value \[8,16,0,32\]/);
    expect(msg.match(/fix: /g)).toHaveLength(1);
  });

  it('a suite with a bad cell runs nothing: dpl run fails before creating the store', async () => {
    const dir = tmpDir('dpl-suite-');
    const f = path.join(dir, 's.yaml');
    fs.writeFileSync(
      f,
      'backbones: [vgg11, alexnet]\nweights: random\ntasks:\n  - task: toy\n  - task: toy\n    points: [relu1_1, bogus]\n',
    );
    const store = path.join(dir, 'r.sqlite');
    const r = await dpl(['run', f, '--store', store, '--plugin', TOY_TASK, '--workers', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bogus/);
    expect(fs.existsSync(store)).toBe(false);
  });
});

describe('the grid', () => {
  it('cell hashes depend on every resolved setting and not on key order', () => {
    const f = suiteFile(
      'backbones: [vgg11, alexnet]\npoints: paper\nseeds: [0, 1]\nweights: random\ntasks:\n  - task: toy\n    overrides: { size: 40 }\n',
    );
    const cells = expandSuite(loadSuite(f), reg);
    expect(cells).toHaveLength(2 * 4 * 2);
    expect(new Set(cells.map((c) => c.hash)).size).toBe(cells.length);
    const c = cells[0].config;
    expect(cellHash(c)).toBe(cells[0].hash);
    expect(cellHash({ ...c, taskConfig: { ...c.taskConfig, size: 41 } })).not.toBe(cells[0].hash);
    expect(cellHash({ ...c, data: '/elsewhere' })).not.toBe(cells[0].hash);
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, 2] }, b: 1 }));
    // the same cell in two suites is the same work
    const g = suiteFile('name: other\nbackbones: [alexnet]\nseeds: [1]\nweights: random\ntasks: [{task: toy, overrides: {size: 40}}]\n');
    const again = expandSuite(loadSuite(g), reg);
    expect(again.map((x) => x.hash).every((h) => cells.some((x) => x.hash === h))).toBe(true);
  });

  it('combinePoints makes one cell with all points; pretrained weights that are not cached are an error naming the fix', () => {
    const f = suiteFile('backbones: [vgg11]\nweights: random\ntasks: [{task: toy, combinePoints: true}]\n');
    const cells = expandSuite(loadSuite(f), reg);
    expect(cells).toHaveLength(1);
    expect(cells[0].points).toHaveLength(4);
    const home = process.env.DPL_HOME;
    process.env.DPL_HOME = tmpDir('dpl-home-');
    try {
      expectThrow(
        () => expandSuite(loadSuite(suiteFile('backbones: [vgg11]\nweights: pretrained\ntasks: [{task: toy}]\n')), reg),
        /\(weights\): weights 'pretrained' but vgg11 has no cached weights.*/,
      );
      const auto = expandSuite(loadSuite(suiteFile('backbones: [vgg11]\nweights: auto\ntasks: [{task: toy}]\n')), reg);
      expect(auto[0].config.weights).toEqual({ kind: 'random' });
    } finally {
      process.env.DPL_HOME = home;
    }
  });

  it('filters select cells by globs, alternatives and negation', () => {
    const f = suiteFile('backbones: [vgg11, vgg16, alexnet]\nweights: random\ntasks: [{task: toy}]\n');
    const cells = expandSuite(loadSuite(f), reg);
    const pick = (e: string) => cells.filter(parseFilter(e)).map((c) => `${c.backbone}@${c.points[0]}`);
    expect(pick('backbone=vgg*')).toHaveLength(8);
    expect(pick('backbone=vgg11|alexnet point=relu1*')).toEqual(['vgg11@relu1_1', 'alexnet@relu1']);
    expect(pick('backbone!=vgg*,point=relu5')).toEqual(['alexnet@relu5']);
    expectThrow(() => parseFilter('colour=red'), /--filter term 'colour=red': is not key=pattern/);
  });
});
