/**
 * `dpl weights` against a local HTTP server on 127.0.0.1 (no test touches the internet): a full
 * download, a resumed one, a hash mismatch, a 404, a stalling server, import and verify.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { defineBackbone, randomStateDict, writeSafetensors } from '@dpl/core';
import { dpl, tmpDir } from './helpers';

const payload = { dir: tmpDir('dpl-w-') };

let server: http.Server;
let base = '';
let body: Buffer;
let sha = '';
const requests: { url: string; range?: string }[] = [];
let mode: 'ok' | 'stall' | 'cut' = 'ok';

/** The tiny backbone's graph (the plugin written below declares the served file as its weights). */
function tinyBackbone(prefix: string) {
  return defineBackbone({
    id: 'tiny',
    family: 'test',
    metadata: {
      batchNorm: false,
      normalization: 'none',
      inStudy: false,
      weights: { file: `tiny-${prefix}.safetensors`, url: `https://example.invalid/tiny-${prefix}.safetensors`, sha256Prefix: prefix },
    },
    graph: (g) => {
      const x = g.input(3);
      g.tap('c', g.relu(g.conv(x, 'c', { out: 4, k: 3, pad: 1 })));
    },
  });
}

const PLUGIN_DIR = path.join(payload.dir, 'plugin');

beforeAll(async () => {
  // the served file: a real safetensors checkpoint for the tiny backbone (big enough to cut)
  const b0 = tinyBackbone('00000000');
  const sd = randomStateDict(b0.graph(), 1);
  const pad = new Float32Array(200000);
  sd.set('padding.unused', { dtype: 'float32', shape: [pad.length], data: pad });
  const file = path.join(payload.dir, 'served.safetensors');
  await writeSafetensors(file, sd);
  body = fs.readFileSync(file);
  sha = crypto.createHash('sha256').update(body).digest('hex');
  // the plugin declaring that file (by hash prefix) as tiny's official weights
  fs.mkdirSync(PLUGIN_DIR, { recursive: true });
  fs.writeFileSync(
    path.join(PLUGIN_DIR, 'package.json'),
    JSON.stringify({ name: 'dpl-backbone-tiny', version: '1.0.0', dpl: { kind: 'backbone', module: './plugin.js' } }),
  );
  fs.writeFileSync(
    path.join(PLUGIN_DIR, 'plugin.js'),
    `const { defineBackbone, backbonePlugin } = require('@dpl/core');
module.exports = { default: backbonePlugin([defineBackbone({ id: 'tiny', family: 'test',
  metadata: { batchNorm: false, normalization: 'none', inStudy: false,
    weights: { file: 'tiny-${sha.slice(0, 8)}.safetensors', url: 'https://example.invalid/x', sha256Prefix: '${sha.slice(0, 8)}' } },
  graph: (g) => { const x = g.input(3); g.tap('c', g.relu(g.conv(x, 'c', { out: 4, k: 3, pad: 1 }))); },
  ignorePrefixes: ['padding.'] })]) };`,
  );
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (!req.url?.startsWith('/models/') || !req.url.includes('/tiny-')) {
      res.writeHead(404).end('not found');
      return;
    }
    const served = req.url.includes('corrupt') ? Buffer.from(body).fill(1, 100, 200) : body;
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const chunk = served.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': chunk.length,
      ...(m ? { 'content-range': `bytes ${start}-${served.length - 1}/${served.length}` } : {}),
    });
    if (mode === 'stall') {
      res.write(chunk.subarray(0, 1000)); // then nothing: the client must time out
      return;
    }
    if (mode === 'cut') {
      res.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => res.destroy());
      return;
    }
    res.end(chunk);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const home = () => {
  process.env.DPL_HOME = tmpDir('dpl-home-');
  return process.env.DPL_HOME;
};
const pullArgs = (...extra: string[]) => ['weights', 'pull', 'tiny', '--plugin', PLUGIN_DIR, '--mirror', base, '--timeout', '1', ...extra];

describe('dpl weights', () => {
  it('pull downloads, verifies the SHA-256 prefix and stores atomically; list and features use it', async () => {
    const h = home();
    const r = await dpl(pullArgs('--json'));
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const file = path.join(h, 'weights', `tiny-${sha.slice(0, 8)}.safetensors`);
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(fs.existsSync(`${file}.part`)).toBe(false);
    expect(r.json<{ sha256: string }[]>()[0].sha256).toBe(sha);
    const again = await dpl(pullArgs());
    expect(again.out).toMatch(/already cached/);
    const list = await dpl(['weights', 'list', '--plugin', PLUGIN_DIR, '--json']);
    expect(
      list.json<{ weights: { backbone: string; cached: boolean; verified: boolean }[] }>().weights.find((w) => w.backbone === 'tiny'),
    ).toMatchObject({ cached: true, verified: true });
    const ver = await dpl(['weights', 'verify', 'tiny', '--plugin', PLUGIN_DIR]);
    expect(ver.code).toBe(0);
    expect(ver.out).toMatch(/^ok {2}tiny/m);
  });

  it('resumes a partial download with an HTTP Range request', async () => {
    const h = home();
    fs.mkdirSync(path.join(h, 'weights'), { recursive: true });
    const file = path.join(h, 'weights', `tiny-${sha.slice(0, 8)}.safetensors`);
    fs.writeFileSync(`${file}.part`, body.subarray(0, 12345));
    requests.length = 0;
    const r = await dpl(pullArgs());
    expect(r.code).toBe(0);
    expect(requests[0].range).toBe('bytes=12345-');
    expect(fs.readFileSync(file).equals(body)).toBe(true);
  });

  it('a connection cut mid-transfer keeps the partial file, and the next pull completes it', async () => {
    const h = home();
    mode = 'cut';
    const r = await dpl(pullArgs());
    mode = 'ok';
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/partial file kept|stalled/);
    const file = path.join(h, 'weights', `tiny-${sha.slice(0, 8)}.safetensors`);
    expect(fs.statSync(`${file}.part`).size).toBeGreaterThan(0);
    const again = await dpl(pullArgs());
    expect(again.code).toBe(0);
    expect(fs.readFileSync(file).equals(body)).toBe(true);
  });

  it('a hash mismatch removes the file with a clear error', async () => {
    const h = home();
    // a mirror that serves a different file under the same name
    const r = await dpl(['weights', 'pull', 'tiny', '--plugin', PLUGIN_DIR, '--mirror', `${base}/corrupt`, '--timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(`SHA-256 mismatch: expected prefix ${sha.slice(0, 8)}, got [0-9a-f]{16}\\.\\.\\.; the file was removed`),
    );
    expect(fs.readdirSync(path.join(h, 'weights'))).toEqual([]);
  });

  it('a 404 names the URL', async () => {
    home();
    const r = await dpl([
      'weights',
      'pull',
      'tiny',
      '--plugin',
      PLUGIN_DIR,
      '--mirror',
      'http://127.0.0.1:' + base.split(':')[2].split('/')[0] + '/nothing-here',
      '--timeout',
      '1',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nothing-here\/tiny-[0-9a-f]{8}\.safetensors: HTTP 404/);
  });

  it('a server that stalls times out with a clear error', async () => {
    home();
    mode = 'stall';
    const t = Date.now();
    const r = await dpl(pullArgs());
    mode = 'ok';
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/stalled: no data for 1s \(partial file kept/);
    expect(Date.now() - t).toBeLessThan(10000);
  });

  it('import validates keys and shapes, then stores the file; a wrong checkpoint is refused', async () => {
    const h = home();
    const good = path.join(payload.dir, 'served.safetensors');
    const r = await dpl(['weights', 'import', good, '--backbone', 'tiny', '--plugin', PLUGIN_DIR, '--json']);
    expect(r.code).toBe(0);
    expect(r.json<{ official: boolean; file: string }>()).toMatchObject({
      official: true,
      file: path.join(h, 'weights', `tiny-${sha.slice(0, 8)}.safetensors`),
    });
    const wrong = path.join(payload.dir, 'wrong.safetensors');
    const sd = randomStateDict(tinyBackbone('x').graph(), 0);
    sd.set('c.weight', { dtype: 'float32', shape: [4, 3, 5, 5], data: new Float32Array(300) });
    await writeSafetensors(wrong, sd);
    const bad = await dpl(['weights', 'import', wrong, '--backbone', 'tiny', '--plugin', PLUGIN_DIR]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(
      /wrong\.safetensors: is not a tiny checkpoint[\s\S]*c\.weight: file has \[4, 3, 5, 5\], tiny needs \[4, 3, 3, 3\]/,
    );
    expect(fs.existsSync(path.join(h, 'weights', 'imported'))).toBe(false);
  });

  it('verify detects a corrupted cached file', async () => {
    const h = home();
    await dpl(pullArgs());
    const file = path.join(h, 'weights', `tiny-${sha.slice(0, 8)}.safetensors`);
    const buf = fs.readFileSync(file);
    buf[buf.length - 1] ^= 0xff;
    fs.writeFileSync(file, buf);
    const r = await dpl(['weights', 'verify', '--plugin', PLUGIN_DIR]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^BAD tiny/m);
    expect(r.err).toMatch(/failed verification/);
  });
});
