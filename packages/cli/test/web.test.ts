/**
 * `dpl web`'s server without a browser: the page's files, the weight cache listing (only files dpl
 * knows by name, inside the cache), no way out of either by path, loopback names only, read-only;
 * and the command's errors for a port in use and a host that is not loopback.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Registry } from '@dpl/core';
import { cachedWeights, createWebServer, type CachedWeights } from '../src/commands/web';
import { dpl, tmpDir } from './helpers';

function get(
  port: number,
  p: string,
  host = '127.0.0.1',
  method = 'GET',
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers: { host: `${host}:${port}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dpl web server', () => {
  const dir = tmpDir('dpl-web-');
  const dist = path.join(dir, 'dist');
  const cache = path.join(dir, 'cache');
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    fs.mkdirSync(path.join(dist, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>page</title>');
    fs.writeFileSync(path.join(dist, 'assets', 'x.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'secret');
    fs.mkdirSync(cache);
    fs.writeFileSync(path.join(cache, 'alexnet.pth'), 'weights');
    fs.writeFileSync(path.join(cache, 'other.pth'), 'not listed');
    const listing: CachedWeights[] = [
      { path: 'alexnet.pth', bytes: 7, backbone: 'alexnet', lpips: null, abs: path.join(cache, 'alexnet.pth') },
    ];
    server = createWebServer(dist, () => listing);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('serves the page with a policy that allows no other origin, and wasm as application/wasm', async () => {
    const page = await get(port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>page</title>');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect((await get(port, '/assets/x.wasm')).headers['content-type']).toBe('application/wasm');
  });

  test('lists and serves only the listed cache files, without their absolute paths', async () => {
    const list = await get(port, '/api/weights');
    const files = (JSON.parse(list.body) as { files: Record<string, unknown>[] }).files;
    expect(files).toEqual([{ path: 'alexnet.pth', bytes: 7, backbone: 'alexnet', lpips: null }]);
    expect((await get(port, '/weights/alexnet.pth')).body).toBe('weights');
    expect((await get(port, '/weights/other.pth')).status).toBe(404);
  });

  test.each(['/../secret.txt', '/%2e%2e/secret.txt', '/weights/../secret.txt', '/weights/%2e%2e%2fsecret.txt', '/assets/%00x.wasm'])(
    '%s does not leave dist or the cache',
    async (p) => {
      const r = await get(port, p);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.body).not.toContain('secret');
    },
  );

  test('answers loopback host names only, and only GET and HEAD', async () => {
    expect((await get(port, '/', 'attacker.example')).status).toBe(403);
    expect((await get(port, '/', 'localhost')).status).toBe(200);
    expect((await get(port, '/api/weights', '127.0.0.1', 'POST')).status).toBe(405);
  });

  test('a port in use is an error naming it, before anything is served', async () => {
    const r = await dpl(['web', '--port', String(port)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`--port ${port} on 127\\.0\\.0\\.1: is in use`));
    expect(r.err).toMatch(/--port 0/);
  });

  test('a host that is not a loopback address is a usage error', async () => {
    const r = await dpl(['web', '--host', '0.0.0.0']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--host 0\.0\.0\.0 is not one of 127\.0\.0\.1, localhost, ::1/);
  });

  test('the cache listing holds the files dpl knows by name, inside the cache (a link out of it is not listed)', () => {
    const home = path.join(dir, 'home');
    const w = path.join(home, 'weights');
    fs.mkdirSync(path.join(w, 'lpips', 'v0.1'), { recursive: true });
    fs.mkdirSync(path.join(w, 'imported'), { recursive: true });
    fs.writeFileSync(path.join(w, 'net-0123abcd.pth'), 'x');
    fs.writeFileSync(path.join(w, 'lpips', 'v0.1', 'alex.pth'), 'lin');
    fs.writeFileSync(path.join(w, 'stray.pth'), 'unknown name');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(w, 'imported', 'other.pth'));
    const fake = (id: string, file?: string) => ({ id, metadata: { weights: file ? { file } : undefined } });
    const reg = { backbones: () => [fake('net', 'net-0123abcd.pth'), fake('other')] } as unknown as Registry;
    const before = process.env.DPL_HOME;
    process.env.DPL_HOME = home;
    try {
      const list = cachedWeights(reg).map(({ abs: _abs, ...f }) => f);
      expect(list).toEqual([
        { path: 'net-0123abcd.pth', bytes: 1, backbone: 'net', lpips: null },
        { path: 'lpips/v0.1/alex.pth', bytes: 3, backbone: null, lpips: { net: 'alex', version: '0.1' } },
      ]);
    } finally {
      if (before === undefined) delete process.env.DPL_HOME;
      else process.env.DPL_HOME = before;
    }
  });
});
