/**
 * download() against hostile HTTP servers started here on 127.0.0.1 (no test touches the
 * internet): an endless body, a one-byte drip, a wrong Content-Length, redirect loops, HTTP errors.
 * Each case asserts the clear error, that nothing is left in the destination folder, and that no
 * more than the expected bytes were ever written (the progress counter is every byte written).
 * No case measures time: the stall window is made short and only the outcome is asserted.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { recordingProgress } from '@dpl/core';
import { download, MAX_REDIRECTS } from '../src/weights/download';
import { tmpDir } from './helpers';

const body = crypto.randomBytes(64 * 1024);
const sha = crypto.createHash('sha256').update(body).digest('hex');
let server: http.Server;
let base = '';
const drips: NodeJS.Timeout[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/ok') return void res.writeHead(200, { 'content-length': body.length }).end(body);
    if (url === '/chunked') return void res.end(body); // no Content-Length: chunked
    if (url === '/endless') {
      // chunked, forever (until the client goes away)
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 7);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (url === '/drip') {
      res.writeHead(200, { 'content-length': body.length });
      let i = 0;
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(body.subarray(i, ++i))), 20);
      drips.push(t);
      return;
    }
    if (url === '/silent') return; // never answers
    if (url === '/cl-long') {
      // claims twice the bytes it sends, then closes
      res.writeHead(200, { 'content-length': body.length * 2 });
      res.write(body, () => res.destroy());
      return;
    }
    if (url === '/cl-short') return void res.writeHead(200, { 'content-length': body.length / 2 }).end(body.subarray(0, body.length / 2));
    if (url === '/loop-a') return void res.writeHead(302, { location: '/loop-b' }).end();
    if (url === '/loop-b') return void res.writeHead(301, { location: `${base}/loop-a` }).end();
    const hop = /^\/hop(\d+)$/.exec(url);
    if (hop) return void res.writeHead(302, { location: Number(hop[1]) > 0 ? `/hop${Number(hop[1]) - 1}` : '/ok' }).end();
    if (url === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    if (url === '/500') return void res.writeHead(500).end('oops');
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const t of drips) clearInterval(t);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Downloads `route` into a fresh folder; returns the outcome, the folder's content and the bytes written. */
async function get(route: string, extra: Partial<Parameters<typeof download>[0]> = {}) {
  const dir = tmpDir('dpl-dl-');
  const progress = recordingProgress();
  const dest = path.join(dir, 'w.pth');
  let error: Error | null = null;
  let digest = '';
  try {
    digest = await download({ url: `${base}${route}`, dest, idleTimeoutMs: 10000, progress, ...extra });
  } catch (e) {
    error = e as Error;
  }
  return { error, digest, dest, files: fs.readdirSync(dir), written: progress.ticks };
}

describe('download', () => {
  it('downloads and verifies a well-behaved file, with or without Content-Length', async () => {
    for (const route of ['/ok', '/chunked']) {
      const r = await get(route, { sha256Prefix: sha.slice(0, 8), expectedBytes: body.length });
      expect(r.error).toBeNull();
      expect(r.digest).toBe(sha);
      expect(r.files).toEqual(['w.pth']);
      expect(fs.readFileSync(r.dest).equals(body)).toBe(true);
    }
  });

  it('an endless body stops at the size in the weights table, and nothing is kept', async () => {
    const r = await get('/endless', { expectedBytes: body.length });
    expect(r.error?.message).toMatch(
      /\/endless: the server sent more than the expected 65536 bytes \(the weights table\); refused; nothing was kept/,
    );
    expect(r.files).toEqual([]);
    expect(r.written).toBeLessThanOrEqual(body.length);
  });

  it('an endless body with no known size stops at the download cap', async () => {
    const r = await get('/endless', { maxBytes: 100000 });
    expect(r.error?.message).toMatch(/more than the expected 100000 bytes \(the download cap\); refused; nothing was kept/);
    expect(r.files).toEqual([]);
    expect(r.written).toBeLessThanOrEqual(100000);
  });

  it('a one-byte drip is a stall after one window, and nothing is kept', async () => {
    const r = await get('/drip', { idleTimeoutMs: 200 });
    expect(r.error?.message).toMatch(/\/drip: stalled: less than 1024 bytes\/s over 0\.2s; nothing was kept/);
    expect(r.error).toHaveProperty('hint', expect.stringMatching(/--timeout/));
    expect(r.files).toEqual([]);
  });

  it('a server that never answers times out after the window', async () => {
    const r = await get('/silent', { idleTimeoutMs: 200 });
    expect(r.error?.message).toMatch(/\/silent: no response within 0\.2s/);
    expect(r.files).toEqual([]);
  });

  it('a Content-Length that disagrees with the weights table is refused before any byte is written', async () => {
    for (const route of ['/cl-long', '/cl-short']) {
      const r = await get(route, { expectedBytes: body.length });
      expect(r.error?.message).toMatch(
        /the server announces \d+ bytes \(Content-Length \d+\), the weights table says 65536; nothing was kept/,
      );
      expect(r.files).toEqual([]);
      expect(r.written).toBe(0);
    }
  });

  it('with no table size: a body shorter than its Content-Length is a cut transfer (kept for resume), bounded by the claim', async () => {
    const r = await get('/cl-long');
    const kept = Number(/transfer failed .*partial file kept \((\d+) bytes/.exec(r.error?.message ?? '')?.[1]);
    expect(r.files).toEqual(['w.pth.part']);
    expect(fs.statSync(path.join(path.dirname(r.dest), 'w.pth.part')).size).toBe(kept);
    expect(kept).toBeLessThanOrEqual(body.length);
    expect(fs.readFileSync(path.join(path.dirname(r.dest), 'w.pth.part')).equals(body.subarray(0, kept))).toBe(true);
  });

  it('with no table size: a short Content-Length gives a file that fails its hash, and nothing is kept', async () => {
    const r = await get('/cl-short', { sha256Prefix: sha.slice(0, 8) });
    expect(r.error?.message).toMatch(/SHA-256 mismatch: expected prefix [0-9a-f]{8}, got [0-9a-f]{16}\.\.\.; nothing was kept/);
    expect(r.files).toEqual([]);
  });

  it('a redirect loop is named; redirects are bounded; only http(s) targets are followed', async () => {
    const loop = await get('/loop-a');
    expect(loop.error?.message).toMatch(new RegExp(`redirect loop: ${base}/loop-a -> ${base}/loop-b -> ${base}/loop-a; nothing was kept`));
    expect(loop.files).toEqual([]);
    const ok = await get(`/hop${MAX_REDIRECTS - 1}`);
    expect(ok.error).toBeNull();
    const far = await get(`/hop${MAX_REDIRECTS}`);
    expect(far.error?.message).toMatch(new RegExp(`more than ${MAX_REDIRECTS} redirects: `));
    expect(far.files).toEqual([]);
    const file = await get('/to-file');
    expect(file.error?.message).toMatch(/redirected to a file: URL/);
  });

  it('HTTP errors name the status and leave nothing', async () => {
    const nf = await get('/missing');
    expect(nf.error?.message).toMatch(/\/missing: HTTP 404 Not Found; nothing was kept/);
    expect(nf.files).toEqual([]);
    const e500 = await get('/500');
    expect(e500.error?.message).toMatch(/\/500: HTTP 500 Internal Server Error; nothing was kept/);
    expect(e500.files).toEqual([]);
  });

  it('a refused download removes a partial file that was there before', async () => {
    const dir = tmpDir('dpl-dl-');
    const dest = path.join(dir, 'w.pth');
    fs.writeFileSync(`${dest}.part`, body.subarray(0, 100));
    await expect(download({ url: `${base}/500`, dest })).rejects.toThrow(/HTTP 500/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a full SHA-256 recorded earlier is enforced', async () => {
    const r = await get('/ok', { sha256: 'a'.repeat(64) });
    expect(r.error?.message).toMatch(/SHA-256 mismatch: expected aaaaaaaaaaaaaaaa\.\.\. \(recorded at the first download\)/);
    expect(r.files).toEqual([]);
  });
});
