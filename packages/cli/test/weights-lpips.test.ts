/**
 * `dpl weights pull lpips` and `dpl weights import --backbone lpips` against a local HTTP server on
 * 127.0.0.1: fake lin files under a table of their own hashes download, verify and are skipped once
 * cached; served under the real table (the official hashes and sizes) they are refused and removed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { LPIPS_LIN_FILES, type LpipsLinFile } from '@dpl/core';
import { pullLpips } from '../src/weights/lpips';
import { dpl, tmpDir } from './helpers';

const home = tmpDir('dpl-lpips-home-');
process.env.DPL_HOME = home;
const served = new Map<string, Buffer>();
const requests: string[] = [];
let server: http.Server;
let base = '';

const fakes: LpipsLinFile[] = LPIPS_LIN_FILES.map((f, i) => {
  const body = Buffer.from(`fake lin file ${i} ${'x'.repeat(100 * i)}`);
  served.set(`/${f.path}`, body);
  return { ...f, sha256: crypto.createHash('sha256').update(body).digest('hex'), bytes: body.length };
});

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length, connection: 'close' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(home, { recursive: true, force: true });
});

it('pulls the six files from the mirror, checks their full SHA-256, and skips them once cached', async () => {
  const first = await pullLpips({ mirror: base, idleTimeoutMs: 5000, files: fakes });
  expect(first.map((r) => r.skipped)).toEqual(fakes.map(() => false));
  for (const [i, f] of fakes.entries()) {
    const file = path.join(home, 'weights', f.cachePath);
    expect(first[i].file).toBe(file);
    expect(fs.readFileSync(file)).toEqual(served.get(`/${f.path}`));
    expect(fs.readFileSync(`${file}.sha256`, 'utf8').trim()).toBe(f.sha256);
  }
  expect(requests.sort()).toEqual(LPIPS_LIN_FILES.map((f) => `/${f.path}`).sort());
  requests.length = 0;
  const again = await pullLpips({ mirror: base, idleTimeoutMs: 5000, files: fakes });
  expect(again.every((r) => r.skipped)).toBe(true);
  expect(requests).toEqual([]);
});

it('dpl weights pull lpips refuses files that are not the official ones and leaves nothing behind', async () => {
  const fresh = tmpDir('dpl-lpips-home2-');
  process.env.DPL_HOME = fresh;
  try {
    const r = await dpl(['weights', 'pull', 'lpips', '--mirror', base]);
    expect(r.code).toBe(1);
    // the fake v0.1 alex.pth (first in the table) has neither the official size nor hash
    expect(r.err).toMatch(/lpips\/weights\/v0\.1\/alex\.pth/);
    expect(r.err).toMatch(/SHA-256|bytes|size/i);
    const left = fs.existsSync(path.join(fresh, 'weights', 'lpips'))
      ? fs
          .readdirSync(path.join(fresh, 'weights', 'lpips'), { recursive: true })
          .filter((f) => String(f).endsWith('.pth') || String(f).endsWith('.part'))
      : [];
    expect(left).toEqual([]);
  } finally {
    process.env.DPL_HOME = home;
    fs.rmSync(fresh, { recursive: true, force: true });
  }
});

it('dpl weights import --backbone lpips takes only a published lin file', async () => {
  const dir = tmpDir('dpl-lpips-imp-');
  try {
    const file = path.join(dir, 'alex.pth');
    fs.writeFileSync(file, 'not LPIPS');
    const r = await dpl(['weights', 'import', file, '--backbone', 'lpips']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/alex\.pth: is not one of LPIPS' published lin files/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
