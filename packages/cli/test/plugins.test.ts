import * as fs from 'node:fs';
import * as path from 'node:path';
import { backboneJs, backbonesModule, writePlugin } from '../../core/test/plugins/make-plugin';
import { dpl, tmpDir } from './helpers';

let tmp: string;
beforeAll(() => {
  tmp = fs.realpathSync(tmpDir('dpl-cli-plugins-'));
  writePlugin(path.join(tmp, 'p'), { name: 'dpl-backbone-p', code: backbonesModule('pnet') });
  writePlugin(path.join(tmp, 'q'), { name: 'dpl-backbone-q', code: backbonesModule('qnet') });
  const broken = `module.exports = { default: core.backbonePlugin([${backboneJs('badnet', { broken: true })}, ${backboneJs('goodnet')}]) };`;
  writePlugin(path.join(tmp, 'broken'), { name: 'dpl-backbone-brokengraph', code: broken });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Row {
  name: string;
  source: string;
  path: string;
  version: string;
  apiVersion: number;
  kind: string;
  registered: { backbones: string[]; tasks: string[]; commands: string[] };
}

describe('plugins on the command line', () => {
  it('--plugin takes one value, so the command after it still runs', async () => {
    const r = await dpl(['--plugin', './p', 'list', 'backbones', '--json'], tmp);
    expect(r.code).toBe(0);
    const ids = r.json<{ id: string }[]>().map((b) => b.id);
    expect(ids).toContain('pnet');
    // the CLI's own default plugins are there from a folder outside any project
    expect(ids).toContain('vgg16');
    const two = await dpl(['--plugin', './p', '--plugin', './q', 'list', 'backbones', '--json'], tmp);
    expect(two.json<{ id: string }[]>().map((b) => b.id)).toEqual(expect.arrayContaining(['pnet', 'qnet']));
  });

  it('--plugin wins over an installed package of the same name, with a note on stderr', async () => {
    const proj = path.join(tmp, 'proj');
    const installed = writePlugin(path.join(proj, 'node_modules', 'dpl-backbone-p'), {
      name: 'dpl-backbone-p',
      code: backbonesModule('installed_p'),
    });
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'proj', dependencies: { 'dpl-backbone-p': '*' } }));
    const r = await dpl(['--plugin', '../p', 'list', 'backbones', '--json'], proj);
    expect(r.code).toBe(0);
    const ids = r.json<{ id: string }[]>().map((b) => b.id);
    expect(ids).toContain('pnet');
    expect(ids).not.toContain('installed_p');
    expect(r.err).toContain(
      `note: plugin dpl-backbone-p in ${installed} (project) is not loaded: the explicit plugin dpl-backbone-p in ${path.join(tmp, 'p')} is used instead`,
    );
  });

  it('reads DPL_PLUGINS', async () => {
    process.env.DPL_PLUGINS = [path.join(tmp, 'p'), path.join(tmp, 'q')].join(path.delimiter);
    try {
      const r = await dpl(['list', 'plugins', '--json'], tmp);
      expect(r.code).toBe(0);
      const rows = r.json<Row[]>().filter((x) => x.source === 'env');
      expect(rows.map((x) => x.name)).toEqual(['dpl-backbone-p', 'dpl-backbone-q']);
    } finally {
      delete process.env.DPL_PLUGINS;
    }
  });

  it('list plugins --json shows source, path, version, apiVersion and what each registered', async () => {
    const r = await dpl(['--plugin', path.join(tmp, 'p'), 'list', 'plugins', '--json'], tmp);
    expect(r.code).toBe(0);
    const rows = r.json<Row[]>();
    expect(rows.find((x) => x.name === 'dpl-backbone-p')).toMatchObject({
      source: 'explicit',
      path: path.join(tmp, 'p'),
      version: '1.2.3',
      apiVersion: 1,
      kind: 'backbone',
      registered: { backbones: ['pnet'], tasks: [], commands: [] },
    });
    expect(rows.find((x) => x.name === '@dpl/backbone-vgg')).toMatchObject({ source: 'default', kind: 'backbone' });
    const text = await dpl(['--plugin', path.join(tmp, 'p'), 'list', 'plugins'], tmp);
    expect(text.out).toMatch(/dpl-backbone-p\s+1\.2\.3\s+1\s+backbone\s+explicit\s+ok\s+pnet/);
  });

  it('a backbone with a broken graph does not take list backbones down; the warning names the plugin', async () => {
    const r = await dpl(['--plugin', './broken', 'list', 'backbones', '--json'], tmp);
    expect(r.code).toBe(0);
    const ids = r.json<{ id: string }[]>().map((b) => b.id);
    expect(ids).toContain('goodnet');
    expect(ids).not.toContain('badnet');
    expect(r.err).toMatch(
      new RegExp(
        `warning: plugin 'dpl-backbone-brokengraph' \\(${path.join(tmp, 'broken')}\\): backbone 'badnet' not loaded: its graph is invalid`,
      ),
    );
  });

  it('a backbone whose points throw is left out of list backbones with a warning naming its plugin', async () => {
    const code = `const b = ${backboneJs('explodes')};
b.points = () => { throw new Error('points exploded'); };
module.exports = { default: core.backbonePlugin([b]) };`;
    writePlugin(path.join(tmp, 'explodes'), { name: 'dpl-backbone-explodes', code });
    const r = await dpl(['--plugin', './explodes', 'list', 'backbones', '--json'], tmp);
    expect(r.code).toBe(0);
    expect(r.json<{ id: string }[]>().map((b) => b.id)).toContain('vgg16');
    expect(r.err).toContain(
      `warning: plugin 'dpl-backbone-explodes' (${path.join(tmp, 'explodes')}): backbone 'explodes': points exploded`,
    );
  });
});
