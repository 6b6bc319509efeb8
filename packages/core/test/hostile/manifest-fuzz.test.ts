/**
 * Property tests for the plugin manifest: any `"dpl"` value, and any mutation of a plugin's
 * package.json bytes, is either accepted as a valid manifest or refused with the loader's own
 * message naming the plugin; the registry never throws and never crashes on it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { createRegistry } from '../../src/plugins/registry';
import { checkManifest } from '../../src/plugins/manifest';
import { backboneJs, writePlugin } from '../plugins/make-plugin';

const RUNS = Number(process.env.DPL_FUZZ_RUNS ?? 150);
const OWN_MESSAGE = /^(invalid "dpl" manifest in package\.json|it needs plugin API version)/;

const manifestLike = fc.oneof(
  fc.anything(),
  fc.record(
    {
      apiVersion: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.anything()),
      kind: fc.oneof(fc.constantFrom('backbone', 'task', 'command'), fc.anything()),
      module: fc.oneof(fc.constantFrom('./plugin.js', ''), fc.anything()),
      plugins: fc.anything(),
    },
    { requiredKeys: [] },
  ),
);

describe('plugin manifest fuzz', () => {
  it('checkManifest accepts only valid manifests and refuses the rest with its own message', () => {
    fc.assert(
      fc.property(manifestLike, (raw) => {
        let m;
        try {
          m = checkManifest(raw);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(OWN_MESSAGE);
          return;
        }
        expect(m.apiVersion).toBe(1);
        expect(['backbone', 'task', 'command']).toContain(m.kind);
        expect(typeof m.module === 'string' && m.module.length > 0).toBe(true);
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('a plugin with mutated package.json bytes loads or is recorded as failed; the registry never throws', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-manifest-fuzz-'));
    const dir = writePlugin(path.join(root, 'p'), {
      name: 'fuzz-plugin',
      code: `module.exports = core.backbonePlugin([${backboneJs('fuzzy')}]);`,
    });
    const valid = fs.readFileSync(path.join(dir, 'package.json'));
    const mutation = fc.oneof(
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((flips) => {
        const b = Buffer.from(valid);
        for (const [i, v] of flips) b[i] = v;
        return b;
      }),
      fc.nat(valid.length).map((n) => valid.subarray(0, n)),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    );
    try {
      // the unmutated plugin loads: the property below is not vacuous
      const base = await createRegistry({ cwd: root, discover: false, plugins: [dir], envPlugins: [] });
      expect(base.backbones().map((b) => b.id)).toContain('fuzzy');
      await fc.assert(
        fc.asyncProperty(mutation, async (bytes) => {
          fs.writeFileSync(path.join(dir, 'package.json'), bytes);
          const reg = await createRegistry({ cwd: root, discover: false, plugins: [dir], envPlugins: [] });
          const failed = reg.plugins.filter((p) => p.error);
          const loaded = reg.backbones().map((b) => b.id);
          // either the plugin is there, or its failure is recorded with a reason
          expect(loaded.includes('fuzzy') || failed.length === 1).toBe(true);
          for (const f of failed) expect(typeof f.error === 'string' && f.error.length > 0).toBe(true);
        }),
        { numRuns: Math.ceil(RUNS / 3) },
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
