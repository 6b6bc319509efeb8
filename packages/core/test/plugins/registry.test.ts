import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRegistry } from '../../src/plugins/registry';

const ROOT = path.resolve(__dirname, '../../../..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');

describe('plugin discovery and loading', () => {
  it('finds the workspace backbone plugins from the repository root', async () => {
    const reg = await createRegistry({ cwd: ROOT });
    const vgg = reg.plugins.find((p) => p.name === '@dpl/backbone-vgg');
    expect(vgg).toMatchObject({ kind: 'backbone', source: 'workspace' });
    expect(vgg?.error).toBeUndefined();
    expect(reg.backbone('vgg16').family).toBe('vgg');
    // the fixture plugins are not workspace packages: not found unless named
    expect(reg.backbones().map((b) => b.id)).not.toContain('toynet');
  });

  it('loads a third-party plugin named by path, with no change to core', async () => {
    const reg = await createRegistry({ cwd: ROOT, discover: false, plugins: [path.join(FIXTURES, 'toy-backbone')] });
    expect(reg.plugins).toEqual([expect.objectContaining({ name: 'dpl-backbone-toy', source: 'explicit' })]);
    const toy = reg.backbone('toynet');
    expect(toy.points().map((p) => [p.name, p.channels, p.stride])).toEqual([
      ['stem', 8, 1],
      ['block', 16, 4],
    ]);
  });

  it('discovers a plugin installed in a node_modules folder above the working directory', async () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'scratch-'));
    try {
      fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
      fs.symlinkSync(path.join(FIXTURES, 'toy-backbone'), path.join(dir, 'node_modules', 'dpl-backbone-toy'));
      fs.mkdirSync(path.join(dir, 'project', 'sub'), { recursive: true });
      const reg = await createRegistry({ cwd: path.join(dir, 'project', 'sub') });
      expect(reg.plugins.find((p) => p.name === 'dpl-backbone-toy')?.source).toBe('node_modules');
      expect(reg.backbone('toynet').id).toBe('toynet');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a broken plugin is reported by name and the others still load', async () => {
    const reg = await createRegistry({
      cwd: ROOT,
      plugins: [
        path.join(FIXTURES, 'broken-plugin'),
        path.join(FIXTURES, 'bad-manifest'),
        path.join(FIXTURES, 'toy-backbone'),
        'no-such-dpl-plugin',
      ],
    });
    const byName = new Map(reg.failures().map((f) => [f.name, f.error]));
    expect(byName.get('dpl-backbone-broken')).toMatch(/module \.\/dist\/missing\.js does not exist/);
    expect(byName.get('dpl-plugin-bad-manifest')).toMatch(/invalid "dpl" manifest/);
    expect(byName.get('no-such-dpl-plugin')).toMatch(/not found/);
    expect(reg.backbone('toynet').id).toBe('toynet');
    expect(reg.backbone('vgg16').id).toBe('vgg16');
  });

  it('reads extra plugins from dpl.config.json and rejects a malformed one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-cfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'dpl.config.json'), JSON.stringify({ plugins: [path.join(FIXTURES, 'toy-backbone')] }));
      const reg = await createRegistry({ cwd: dir });
      expect(reg.plugins.find((p) => p.name === 'dpl-backbone-toy')?.source).toBe('config');
      fs.writeFileSync(path.join(dir, 'dpl.config.json'), '{ "plugins": [ ');
      await expect(createRegistry({ cwd: dir })).rejects.toThrow(/dpl\.config\.json: is not valid JSON/);
      fs.writeFileSync(path.join(dir, 'dpl.config.json'), '{ "plugins": "toy" }');
      await expect(createRegistry({ cwd: dir })).rejects.toThrow(/"plugins" must be an array/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown backbone lists the installed ones', async () => {
    const reg = await createRegistry({ cwd: ROOT });
    expect(() => reg.backbone('vgg17')).toThrow(/unknown backbone 'vgg17'[\s\S]*vgg16/);
  });
});
