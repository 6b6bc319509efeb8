/**
 * suites/modern.yaml (docs/MODERN.md): the six later networks and vgg16 at their default points
 * over the paper suite's use cases; with suites/paper.yaml in one store the report ranks and
 * correlates 20 networks. The registry is the CLI's default plugins (their dist/: build first).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRegistry, type Registry } from '@dpl/core';
import { analyse } from '../../src/report/analyse';
import { registryLookup } from '../../src/report/lookup';
import { expandSuite, type ExpandedCell } from '../../src/suite/grid';
import { loadSuite } from '../../src/suite/suite-file';
import type { StoredCell } from '../../src/store/results-store';
import { dpl, ROOT, tmpDir } from '../helpers';

const MODERN = ['convnext_tiny', 'mobilenet_v3_large', 'regnet_y_400mf', 'efficientnet_v2_s', 'vit_b_16', 'swin_t'];
const USE_CASES = 5; // similarity, super-resolution, segmentation, autoencoder on STL-10 and on SVHN
const suite = (name: string) => loadSuite(path.join(ROOT, 'suites', `${name}.yaml`));

let reg: Registry;
const home = process.env.DPL_HOME;
beforeAll(async () => {
  // a weight cache holding vgg16's official file, so both suites resolve its weights alike
  process.env.DPL_HOME = tmpDir('dpl-modern-home-');
  const vgg = path.join(process.env.DPL_HOME, 'weights', 'vgg16-397923af.pth');
  fs.mkdirSync(path.dirname(vgg), { recursive: true });
  fs.writeFileSync(vgg, 'placeholder: only its name is read while expanding');
  reg = await createRegistry({ cwd: ROOT });
});
afterAll(() => {
  if (home === undefined) delete process.env.DPL_HOME;
  else process.env.DPL_HOME = home;
});

describe('suites/modern.yaml', () => {
  it('expands to the six modern networks and vgg16 x their four default points x the paper use cases, paper presets', () => {
    const problems: string[] = [];
    const cells = expandSuite(suite('modern'), reg, { problems });
    expect(cells).toHaveLength(7 * 4 * USE_CASES);
    expect([...new Set(cells.map((c) => c.backbone))]).toEqual([...MODERN, 'vgg16']);
    expect(new Set(cells.map((c) => c.preset))).toEqual(new Set(['paper']));
    for (const id of [...MODERN, 'vgg16']) {
      const want = reg
        .backbone(id)
        .resolvePoints('paper')
        .map((p) => p.name);
      expect(want).toHaveLength(4);
      expect([...new Set(cells.filter((c) => c.backbone === id).map((c) => c.points[0]))]).toEqual(want);
    }
    // the data roots are the paper suite's (absent here: listed, not thrown, in a dry run)
    expect(problems.some((p) => /data root .*bapps does not exist/.test(p))).toBe(true);
  });

  it("vgg16's cells are the paper suite's (same hashes: run once in a shared store)", () => {
    const paper = new Set(expandSuite(suite('paper'), reg, { problems: [] }).map((c) => c.hash));
    const vgg = expandSuite(suite('modern'), reg, { problems: [] }).filter((c) => c.backbone === 'vgg16');
    expect(vgg).toHaveLength(4 * USE_CASES);
    for (const c of vgg) expect(paper.has(c.hash)).toBe(true);
  });

  it('--preset quick --synthetic: every task in its quick preset on its synthetic data, nothing missing', async () => {
    const cells = expandSuite(suite('modern'), reg, { preset: 'quick', synthetic: true });
    expect(cells).toHaveLength(7 * 4 * USE_CASES);
    expect(new Set(cells.map((c) => c.preset))).toEqual(new Set(['quick']));
    expect(cells.every((c) => c.config.data === null)).toBe(true);
    // through the command line: the intended offline command, as a dry run
    const r = await dpl([
      '--json',
      'run',
      'suites/modern.yaml',
      '--preset',
      'quick',
      '--synthetic',
      '--dry-run',
      '--store',
      path.join(tmpDir(), 's.sqlite'),
    ]);
    expect({ code: r.code, err: r.err }).toMatchObject({ code: 0 });
    const doc = r.json<{ cells: { preset: string; backbone: string }[]; missing: string[] }>();
    expect(doc.cells).toHaveLength(7 * 4 * USE_CASES);
    expect(new Set(doc.cells.map((c) => c.preset))).toEqual(new Set(['quick']));
    expect(doc.missing).toEqual([]);
  });

  it('without --synthetic a preset override keeps the data roots; an unknown --preset is named; --synthetic is for suite runs only', async () => {
    const cells = expandSuite(suite('modern'), reg, { preset: 'quick', problems: [] });
    expect(cells.every((c) => typeof c.config.data === 'string')).toBe(true);
    expect(() => expandSuite(suite('modern'), reg, { preset: 'huge', problems: [] })).toThrow(
      /--preset huge: is not a preset of similarity \(.*modern\.yaml:\d+:\d+ \(tasks\[0\]\.task\)\)/,
    );
    const r = await dpl(['run', '--task', 'similarity', '--backbone', 'vgg16', '--synthetic']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--synthetic applies to a suite run/);
  });
});

describe('the report over the paper and modern suites in one store', () => {
  it('ranks 20 networks per use case and correlates their scores with ImageNet top-1 over all 20', () => {
    const byHash = new Map<string, ExpandedCell>();
    for (const name of ['paper', 'modern']) for (const c of expandSuite(suite(name), reg, { problems: [] })) byHash.set(c.hash, c);
    const lookup = registryLookup(reg);
    let i = 0;
    // synthetic results: a score that depends on the network and the point
    const done: StoredCell[] = [...byHash.values()].map((c) => ({
      ...c,
      config: c.config,
      status: 'done',
      owner: null,
      attempts: 1,
      startedAt: null,
      finishedAt: `2025-01-01T00:00:00.${String(i++).padStart(3, '0')}Z`,
      seconds: 1,
      metrics: { score: (lookup(c.backbone)?.imagenetTop1 ?? 50) / 100 + 0.01 * (i % 7) },
      splits: null,
      headline: { metric: 'score', higherIsBetter: true },
      provenance: { kind: 'random', seed: 0 },
      backend: 'cpu',
      dplVersion: '0.1.0',
      error: null,
      detail: null,
    }));
    const r = analyse(done, [], lookup, {
      store: 'x',
      reportVersion: '0',
      permutations: 50,
      seed: 0,
      counts: { done: done.length, failed: 0, pending: 0, running: 0 },
    });
    expect(r.useCases).toHaveLength(USE_CASES);
    for (const u of r.useCases) {
      const nets = u.networks.filter((n) => n.backbone !== 'pixel-loss baseline');
      expect(nets).toHaveLength(20);
      expect(nets.every((n) => n.imagenetTop1 !== null)).toBe(true);
      expect(u.columnKind).toBe('study');
      expect(u.columns).toEqual(['E1', 'E2', 'E3', 'E4']);
      const top1 = u.correlations.find((c) => c.attribute === 'imagenetTop1' && c.sample === 'networks')!;
      expect(top1.n).toBe(20);
      expect(top1.spearman).not.toBeNull();
      expect(u.correlations.find((c) => c.attribute === 'imagenetTop1' && c.sample === 'points')!.n).toBe(80);
    }
    expect(r.notes.join('\n')).not.toMatch(/not installed/);
  });
});
