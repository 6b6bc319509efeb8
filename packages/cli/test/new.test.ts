import * as fs from 'node:fs';
import * as path from 'node:path';
import { PLUGIN_API_VERSION } from '@dpl/core';
import { dpl, tmpDir } from './helpers';

// Builds and runs of the scaffolds (npm install, tsc, --plugin, installed) are in test/e2e/pack-install.test.ts.
describe('dpl new', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('dpl-new-');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('scaffolds a backbone package: manifest, peer dependencies, sources, contract and parity tests', async () => {
    const r = await dpl(['new', 'backbone', 'my_net', '--dir', path.join(dir, 'b')], dir);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'b', 'package.json'), 'utf8'));
    expect(pkg.name).toBe('dpl-backbone-my_net');
    expect(pkg.dpl).toEqual({ apiVersion: PLUGIN_API_VERSION, kind: 'backbone', module: './dist/plugin.js' });
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@dpl/core', '@tensorflow/tfjs-core']);
    expect(pkg.peerDependencies['@dpl/core']).toMatch(/^\^\d+\.\d+\.\d+$/);
    for (const f of [
      'src/backbone.ts',
      'src/plugin.ts',
      'test/contract.test.ts',
      'test/parity.test.ts',
      'tools/reference.py',
      'README.md',
      '.gitignore',
    ])
      expect(fs.existsSync(path.join(dir, 'b', f))).toBe(true);
    const tsconfig = fs.readFileSync(path.join(dir, 'b', 'tsconfig.json'), 'utf8');
    expect(tsconfig).not.toMatch(/skipLibCheck/);
    const src = fs.readFileSync(path.join(dir, 'b', 'src', 'backbone.ts'), 'utf8');
    expect(src).toMatch(/defineFamily\(\{\s+family: 'my_net'/);
    expect(src).toMatch(/export const myNet = /);
    expect((src.match(/g\.tap\(/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(src).not.toMatch(/\{\{/);
    expect(r.out).toMatch(/dpl --plugin \. describe my_net/);
  });

  it('scaffolds a task package with quick and paper presets and a test on the task test kit', async () => {
    const r = await dpl(['new', 'task', 'noise-probe', '--dir', path.join(dir, 't'), '--json'], dir);
    expect(r.code).toBe(0);
    const out = r.json<{ package: string; files: string[] }>();
    expect(out.package).toBe('dpl-task-noise-probe');
    expect(out.files).toEqual(expect.arrayContaining(['src/task.ts', 'src/config.ts', 'test/task.test.ts', 'package.json']));
    const config = fs.readFileSync(path.join(dir, 't', 'src', 'config.ts'), 'utf8');
    expect(config).toMatch(/name: 'paper'/);
    expect(config).toMatch(/name: 'quick'/);
    expect(config).toMatch(/NoiseProbeConfig/);
    expect(fs.readFileSync(path.join(dir, 't', 'test', 'task.test.ts'), 'utf8')).toMatch(/taskTestContext/);
  });

  it('defaults the folder to ./dpl-<kind>-<id>', async () => {
    const r = await dpl(['new', 'task', 'mine'], dir);
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'dpl-task-mine', 'package.json'))).toBe(true);
  });

  it('refuses a bad id, an id that exists and a non-empty folder: usage errors (exit 2), nothing written', async () => {
    const bad = await dpl(['new', 'backbone', 'My Net', '--dir', path.join(dir, 'x')], dir);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/backbone id 'My Net' is not valid/);
    const taken = await dpl(['new', 'backbone', 'vgg16', '--dir', path.join(dir, 'x')]);
    expect(taken.code).toBe(2);
    expect(taken.err).toMatch(/a backbone 'vgg16' exists already \(from @dpl\/backbone-vgg\)/);
    const takenTask = await dpl(['new', 'task', 'similarity', '--dir', path.join(dir, 'x')]);
    expect(takenTask.code).toBe(2);
    expect(takenTask.err).toMatch(/a task 'similarity' exists already/);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
    fs.mkdirSync(path.join(dir, 'full'));
    fs.writeFileSync(path.join(dir, 'full', 'keep.txt'), 'mine');
    const full = await dpl(['new', 'backbone', 'ok_net', '--dir', path.join(dir, 'full')], dir);
    expect(full.code).toBe(2);
    expect(full.err).toMatch(/is not empty/);
    expect(fs.readdirSync(path.join(dir, 'full'))).toEqual(['keep.txt']);
    const kind = await dpl(['new', 'dataset', 'x'], dir);
    expect(kind.code).toBe(2);
  });
});
