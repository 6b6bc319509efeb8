import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRegistry } from '@dpl/core';
import type { Report } from '../../src/report/model';
import { kendallTauB, spearmanRho } from '@dpl/metrics';
import { ResultsStore } from '../../src/store/results-store';
import { dpl, ROOT, tmpDir } from '../helpers';
import { buildStore, POINTS, SIMILARITY } from './fixture-store';

process.env.DPL_BACKEND = 'wasm';
const hasLatex = spawnSync('pdflatex', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasLatex) console.warn('skipping the LaTeX compile check: pdflatex is not installed (apt-get install texlive-latex-recommended)');
const withLatex = hasLatex ? it : it.skip;

describe('dpl report on a store of fake results over real backbones', () => {
  const dir = tmpDir('dpl-report-');
  const storeFile = path.join(dir, 'results.sqlite');
  const out = path.join(dir, 'out');
  let run: Awaited<ReturnType<typeof dpl>>;
  let report: Report;
  let doneCells = 0;

  beforeAll(async () => {
    doneCells = buildStore(storeFile).done;
    run = await dpl(['report', '--store', storeFile, '--out', out, '--permutations', '2000']);
    report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
  });

  const uc = (id: string) => report.useCases.find((u) => u.id === id)!;

  it('writes every format and prints where report.html and report.md are', () => {
    expect(run.err).not.toMatch(/warning|error/);
    expect(run.code).toBe(0);
    for (const f of ['report.md', 'report.html', 'report.csv', 'report.json', 'report.tex'])
      expect(fs.statSync(path.join(out, f)).size).toBeGreaterThan(500);
    expect(run.out).toContain(path.join(out, 'report.html'));
    expect(run.out).toContain(path.join(out, 'report.md'));
    expect(report.counts).toEqual({ done: doneCells, failed: 1, pending: 1, running: 0 });
  });

  it('tables: mean over seeds, sample std, each network’s best point (similarity, 2 seeds)', () => {
    const s = uc('similarity');
    expect(s.headline).toEqual({ metric: '2afc_mean', higherIsBetter: true });
    expect(s.columnKind).toBe('study');
    expect(s.columns).toEqual(['E1', 'E2', 'E3', 'E4']);
    expect(s.seeds).toEqual([0, 1]);
    const vgg = s.networks.find((n) => n.backbone === 'vgg16')!;
    expect(vgg.cells.E1.mean).toBeCloseTo(0.61, 12);
    expect(vgg.cells.E1.std).toBeCloseTo(Math.sqrt(2 * 0.01 ** 2), 12);
    expect(vgg.cells.E1.points).toEqual(['relu1_2']);
    const best = Object.fromEntries(s.networks.map((n) => [n.backbone, [n.best.column, n.best.points[0], n.best.mean]]));
    expect(best.vgg16).toEqual(['E3', 'relu3_3', expect.closeTo(0.71, 12)]);
    expect(best.alexnet).toEqual(['E3', 'relu3', expect.closeTo(0.66, 12)]);
    expect(best.resnet18).toEqual(['E2', 'layer1', expect.closeTo(0.69, 12)]);
    // single seed: no std
    expect(uc('super-resolution').networks[0].cells.E1.std).toBeNull();
  });

  it('rankings per use case: descending when higher is better, ascending when lower is better, ties shared', () => {
    const order = (id: string) => uc(id).networkRanking.map((e) => [e.rank, e.backbone]);
    expect(order('similarity')).toEqual([
      [1, 'vgg16'],
      [2, 'resnet18'],
      [3, 'alexnet'],
    ]);
    expect(order('super-resolution')).toEqual([
      [1, 'resnet18'],
      [2, 'vgg16'],
      [3, 'alexnet'],
    ]);
    // msq is lower-is-better: alexnet's 0.10 beats vgg16's 0.20
    expect(order('toy')).toEqual([
      [1, 'alexnet'],
      [2, 'vgg16'],
    ]);
    const pts = uc('similarity').pointRanking.map((e) => [e.rank, e.backbone, e.column]);
    expect(pts.slice(0, 5)).toEqual([
      [1, 'vgg16', 'E3'],
      [2, 'resnet18', 'E2'],
      [3, 'vgg16', 'E2'],
      [4.5, 'alexnet', 'E3'],
      [4.5, 'resnet18', 'E3'],
    ]);
    expect(uc('toy').pointRanking.map((e) => e.mean)).toEqual([0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6]);
  });

  it('mean rank across use cases (networks missing from a use case averaged over the ones they ran in)', () => {
    const m = report.meanRanks.networks.map((r) => [r.backbone, r.meanRank, r.useCases]);
    // resnet18 (2 + 1) / 2; vgg16 (1 + 2 + 2) / 3; alexnet (3 + 3 + 1) / 3
    expect(m).toEqual([
      ['resnet18', 1.5, 2],
      ['vgg16', expect.closeTo(5 / 3, 12), 3],
      ['alexnet', expect.closeTo(7 / 3, 12), 3],
    ]);
    expect(report.meanRanks.networks.find((r) => r.backbone === 'alexnet')!.weights).toBe('random (seeds 0, 1)');
    // vgg16 E3: similarity 1, super-resolution 6.5 (tied with resnet18 E2 at 23.0), toy 3
    const p = report.meanRanks.points.find((r) => r.key === 'vgg16 E3')!;
    expect(p.ranks).toEqual({ similarity: 1, 'super-resolution': 6.5, toy: 3 });
    expect(p.meanRank).toBeCloseTo(3.5, 12);
  });

  it('correlations: ImageNet top-1 per network (hand-computed) and point attributes from the registry', async () => {
    const top1 = (id: string) => uc(id).correlations.find((c) => c.attribute === 'imagenetTop1' && c.sample === 'networks')!;
    // top-1 alexnet < resnet18 < vgg16 and similarity's best scores in the same order
    expect(top1('similarity')).toMatchObject({ n: 3, spearman: { r: expect.closeTo(1, 12), p: expect.closeTo(1 / 3, 12), exact: true } });
    expect(top1('similarity').kendall!.r).toBeCloseTo(1, 12);
    // super-resolution's best: alexnet 23.9 < vgg16 24.0 < resnet18 24.2: rank differences 0, 1, 1
    expect(top1('super-resolution').spearman!.r).toBeCloseTo(1 - (6 * 2) / (3 * 8), 12);
    expect(top1('super-resolution').kendall!.r).toBeCloseTo(1 / 3, 12);
    expect(top1('super-resolution').spearman!.p).toBeCloseTo(1, 12);
    // two networks: n/a
    expect(top1('toy')).toMatchObject({ n: 2, spearman: null, kendall: null, note: expect.stringMatching(/n\/a/) });

    const reg = await createRegistry({ cwd: ROOT });
    const depth: number[] = [];
    const score: number[] = [];
    for (const [net, rows] of Object.entries(SIMILARITY))
      rows.forEach(([a, b], e) => {
        depth.push(reg.backbone(net).point(POINTS[net][e]).relativeDepth);
        score.push((a + b) / 2);
      });
    const c = uc('similarity').correlations.find((x) => x.attribute === 'relativeDepth')!;
    expect(c.n).toBe(12);
    expect(c.spearman!.r).toBeCloseTo(spearmanRho(depth, score), 12);
    expect(c.kendall!.r).toBeCloseTo(kendallTauB(depth, score), 12);
    expect(c.spearman!.exact).toBe(false);
    expect(c.spearman!.p).toBeGreaterThanOrEqual(1 / 2001);
    expect(c.spearman!.p).toBeLessThanOrEqual(1);
    expect(uc('similarity').correlations.map((x) => x.attribute)).toEqual([
      'imagenetTop1',
      'paramsMillions',
      'imagenetTop1',
      'relativeDepth',
      'convsBefore',
      'paramsUpTo',
      'receptiveField',
      'stride',
      'channels',
    ]);
  });

  it('every table says how the weights were obtained, which backends ran it and the dpl version', () => {
    const s = uc('similarity');
    const w = Object.fromEntries(s.networks.map((n) => [n.backbone, n.weights]));
    expect(w).toEqual({ vgg16: 'pretrained vgg16-397923af.pth', alexnet: 'random (seeds 0, 1)', resnet18: 'random (seeds 0, 1)' });
    expect(s.weights).toBe('mixed (2 of 3 networks random)');
    expect(s.backends).toEqual(['tensorflow', 'wasm']);
    expect(uc('toy').backends).toEqual(['wasm']);
    expect(report.notes[0]).toMatch(/RANDOM .*alexnet, resnet18/);

    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    const tables = md.split('\n### ').slice(1);
    expect(tables.length).toBe(3 * 4 + 2 + 1);
    for (const t of tables.filter((t) => !t.startsWith('Failed'))) expect(t).toMatch(/weights: .*; backend: .*; dpl 0\.1\.0/);
    expect(md).toContain('_weights: mixed (2 of 3 networks random); backend: tensorflow, wasm; dpl 0.1.0_');
    expect(md).toContain('| network | weights | E1 | E2 | E3 | E4 | best point | rank |');
    expect(md).toContain(
      '| vgg16 | pretrained vgg16-397923af.pth | 0.6100 ± 0.0141 | 0.6700 ± 0.0141 | **0.7100 ± 0.0141** | 0.6500 ± 0.0141 | E3 (relu3_3) | 1 |',
    );
    // the failed cell's error: one line, the pipe escaped
    expect(md).toMatch(
      /\| segmentation \| quick \| vgg16 \| relu1_2 \| 0 \| 1 \| out of memory \\\| allocating 4 GB, tensor 1x512x512x64 at conv2d/,
    );
  });

  it('CSV: one row per finished cell with every metric column', () => {
    const lines = fs.readFileSync(path.join(out, 'report.csv'), 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'use_case,task,preset,backbone,point,column,seed,weights,backend,dpl_version,seconds,headline_metric,headline,2afc_mean,jnd_map,psnr,ssim,msq',
    );
    expect(lines.length - 1).toBe(doneCells);
    expect(lines).toContain(
      'similarity,similarity,quick,vgg16,relu3_3,E3,1,pretrained vgg16-397923af.pth,wasm,0.1.0,2.5,2afc_mean,0.72,0.72,0.36,,,',
    );
    expect(lines).toContain('toy,toy,quick,alexnet,relu1,E1,0,random (seed 0),wasm,0.1.0,2.5,msq,0.1,,,,,0.1');
  });

  it('HTML: self-contained, three SVG charts per use case with ids unique across the page', () => {
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|<link|src="http|chart not drawn/);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.length).toBe(3 * 3);
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of html.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(m[1]);
    // the heatmap draws the cells' values, the scatters name the networks
    const heat = html.match(/<figure id="chart-similarity-heatmap">[\s\S]*?<\/figure>/)![0];
    expect(heat).toContain('>0.7100<');
    expect(heat).toContain('>resnet18<');
    const top1 = html.match(/<figure id="chart-similarity-top1">[\s\S]*?<\/figure>/)![0];
    expect(top1).toMatch(/ImageNet top-1/);
    expect(html).toContain('out of memory | allocating 4 GB');
    expect(html).toContain('weights: mixed (2 of 3 networks random); backend: tensorflow, wasm; dpl 0.1.0');
    // the markdown links the same charts as files
    expect(fs.existsSync(path.join(out, 'charts', 'similarity-heatmap.svg'))).toBe(true);
  });

  it('LaTeX: booktabs tables, balanced environments, specials escaped', () => {
    const tex = fs.readFileSync(path.join(out, 'report.tex'), 'utf8');
    expect(tex).toContain('\\usepackage{booktabs}');
    const count = (s: string) => tex.split(s).length - 1;
    expect(count('\\begin{tabular}')).toBe(15);
    expect(count('\\end{tabular}')).toBe(15);
    expect(count('\\toprule')).toBe(15);
    expect(count('\\begin{table}')).toBe(count('\\end{table}'));
    expect(tex).toContain('relu3\\_3');
    expect(tex).toContain('0.7100 $\\pm$ 0.0141');
    // no bare underscore, percent or ampersand outside the column separators
    const body = tex.slice(tex.indexOf('\\begin{document}'));
    expect(body.replace(/\\_/g, '')).not.toMatch(/_/);
    expect(body.replace(/\\%/g, '').replace(/\{%\n/g, '')).not.toMatch(/%/);
  });

  withLatex('LaTeX: report.tex compiles with pdflatex', () => {
    const texDir = tmpDir('dpl-report-tex-');
    fs.copyFileSync(path.join(out, 'report.tex'), path.join(texDir, 'report.tex'));
    const r = spawnSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', 'report.tex'], {
      cwd: texDir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).not.toMatch(/^! /m);
    expect(r.status).toBe(0);
    expect(fs.statSync(path.join(texDir, 'report.pdf')).size).toBeGreaterThan(10_000);
  });

  it('--format md,csv writes only those; --json says where', async () => {
    const o2 = path.join(dir, 'only');
    const r = await dpl(['report', '--store', storeFile, '--out', o2, '--format', 'md,csv', '--permutations', '200', '--json']);
    expect(r.code).toBe(0);
    const j = r.json<{ files: Record<string, string> }>();
    expect(Object.keys(j.files).sort()).toEqual(['csv', 'md']);
    expect(fs.readdirSync(o2).sort()).toEqual(['charts', 'report.csv', 'report.md']);
  });
});

describe('dpl report errors', () => {
  it('a missing store names the file and the fix, and creates nothing', async () => {
    const dir = tmpDir('dpl-report-err-');
    const file = path.join(dir, 'missing.sqlite');
    const r = await dpl(['report', '--store', file, '--out', path.join(dir, 'o')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no results store at ${file}`);
    expect(r.err).toMatch(/fix: run `dpl run <suite>` first/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a store without finished cells says so', async () => {
    const dir = tmpDir('dpl-report-err-');
    const file = path.join(dir, 'empty.sqlite');
    const s = new ResultsStore(file);
    s.addCells([
      { hash: 'h', suite: 's', task: 'similarity', backbone: 'vgg16', points: ['relu1_2'], preset: 'quick', seed: 0, config: {} },
    ]);
    s.close();
    const r = await dpl(['report', '--store', file, '--out', path.join(dir, 'o')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/has no finished cells \(1 pending, 0 running, 0 failed\)/);
  });

  it('an unknown --format is named with the valid ones', async () => {
    const r = await dpl(['report', '--store', 'x.sqlite', '--format', 'md,pdf']);
    expect(r.code).toBe(2); // a usage error
    expect(r.err).toMatch(/unknown --format 'pdf'[\s\S]*md, html, csv, json, tex/);
  });
});
