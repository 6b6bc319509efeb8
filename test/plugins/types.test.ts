/**
 * A plugin compiles against @dpl/core's published declarations (packages/core/dist) without
 * skipLibCheck: test/fixtures/ts-plugin type-checks with `types: []` and skipLibCheck false.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

it('a typed plugin compiles against the built @dpl/core declarations without skipLibCheck', () => {
  if (!fs.existsSync(path.join(ROOT, 'packages', 'core', 'dist', 'index.d.ts')))
    throw new Error('build first: npx tsc -b tsconfig.build.json');
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'test', 'fixtures', 'ts-plugin')], { encoding: 'utf8' });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
});
