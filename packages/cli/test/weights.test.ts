/**
 * `dpl weights` against a local HTTP server on 127.0.0.1 (no test touches the internet): a full
 * download, a resumed one, a hash mismatch, a 404, a stalling server, import and verify.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { cachedOnnxModel, defineBackbone, randomStateDict, writeSafetensors, type OnnxModel } from '@dpl/core';
import { dpl, png, tmpDir } from './helpers';

const payload = { dir: tmpDir('dpl-w-') };

let server: http.Server;
let base = '';
let body: Buffer;
let sha = '';
const requests: { url: string; range?: string }[] = [];
let mode: 'ok' | 'stall' | 'cut' | 'endless' | 'drip' | 'loop' = 'ok';

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
    JSON.stringify({ name: 'dpl-backbone-tiny', version: '1.0.0', dpl: { apiVersion: 1, kind: 'backbone', module: './plugin.js' } }),
  );
  fs.writeFileSync(
    path.join(PLUGIN_DIR, 'plugin.js'),
    `const { defineBackbone, backbonePlugin } = require('@dpl/core');
module.exports = { default: backbonePlugin([defineBackbone({ id: 'tiny', family: 'test',
  metadata: { batchNorm: false, normalization: 'none', inStudy: false,
    weights: { file: 'tiny-${sha.slice(0, 8)}.safetensors', url: 'https://example.invalid/x', sha256Prefix: '${sha.slice(0, 8)}', bytes: ${body.length} } },
  graph: (g) => { const x = g.input(3); g.tap('c', g.relu(g.conv(x, 'c', { out: 4, k: 3, pad: 1 }))); },
  ignorePrefixes: ['padding.'] })]) };`,
  );
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (!req.url?.startsWith('/models/') || !req.url.includes('/tiny-')) {
      res.writeHead(404).end('not found');
      return;
    }
    if (mode === 'loop') {
      res.writeHead(302, { location: req.url.endsWith('?again') ? req.url.slice(0, -6) : `${req.url}?again` }).end();
      return;
    }
    if (mode === 'endless') {
      res.writeHead(200); // chunked, without end
      const pump = () => {
        while (!res.destroyed && res.write(Buffer.alloc(16384, 1)));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (mode === 'drip') {
      res.writeHead(200, { 'content-length': body.length });
      let i = 0;
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(body.subarray(i, ++i))), 20);
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
const pullArgs = (...extra: string[]) => [
  'weights',
  'pull',
  'tiny',
  '--plugin',
  PLUGIN_DIR,
  '--mirror',
  base,
  ...(extra.includes('--timeout') ? [] : ['--timeout', '1']),
  ...extra,
];

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
    expect(r.err).toMatch(new RegExp(`SHA-256 mismatch: expected prefix ${sha.slice(0, 8)}, got [0-9a-f]{16}\\.\\.\\.; nothing was kept`));
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

  it('a server that stalls, or drips a byte at a time, is abandoned after the --timeout window; nothing is kept', async () => {
    for (const m of ['stall', 'drip'] as const) {
      const h = home();
      mode = m;
      const r = await dpl(pullArgs('--timeout', '0.3'));
      mode = 'ok';
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/stalled: less than 1024 bytes\/s over 0\.3s; nothing was kept/);
      expect(fs.readdirSync(path.join(h, 'weights'))).toEqual([]);
    }
  });

  it('an endless body stops at the size in the weights table; a redirect loop is named; nothing is kept', async () => {
    const h = home();
    mode = 'endless';
    const r = await dpl(pullArgs());
    mode = 'loop';
    const loop = await dpl(pullArgs());
    mode = 'ok';
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`more than the expected ${body.length} bytes \\(the weights table\\); refused; nothing was kept`));
    expect(loop.code).toBe(1);
    expect(loop.err).toMatch(/redirect loop: \S+\.safetensors -> \S+\?again -> \S+\.safetensors; nothing was kept/);
    expect(fs.readdirSync(path.join(h, 'weights'))).toEqual([]);
  });

  it('records the full SHA-256 at the first download; a cached file changed later is caught by verify, pull and use', async () => {
    const h = home();
    expect((await dpl(pullArgs())).code).toBe(0);
    const file = path.join(h, 'weights', `tiny-${sha.slice(0, 8)}.safetensors`);
    expect(fs.readFileSync(`${file}.sha256`, 'utf8').trim()).toBe(sha);
    // tampered in the middle: same size, and the 8-hex prefix in the name can't see it... but the full hash does
    const buf = fs.readFileSync(file);
    buf[buf.length >> 1] ^= 0x01;
    fs.writeFileSync(file, buf);
    const ver = await dpl(['weights', 'verify', 'tiny', '--plugin', PLUGIN_DIR]);
    expect(ver.code).toBe(1);
    expect(ver.out).toMatch(
      new RegExp(`^BAD tiny {2}\\S+ {2}\\(sha256 [0-9a-f]{16}\\.\\.\\. does not match the recorded ${sha.slice(0, 16)}\\.\\.\\.`, 'm'),
    );
    const img = await png(path.join(payload.dir, 'img.png'), 16, 16, 1);
    const out = path.join(payload.dir, 'feats-tampered');
    const use = await dpl(['features', '--backbone', 'tiny', '--plugin', PLUGIN_DIR, '--points', 'c', '--input', img, '--out', out]);
    expect(use.code).toBe(1);
    expect(use.err).toMatch(/the cached weights changed since they were verified/);
    expect(fs.existsSync(out)).toBe(false);
    const again = await dpl(pullArgs());
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/no longer matches its recorded SHA-256; downloading it again/);
    expect(fs.readFileSync(file).equals(body)).toBe(true);
  });

  it('verify covers the ONNX model cache: each model ok or damaged', async () => {
    const h = home();
    const onnx = path.join(h, 'onnx');
    const model = (n: number) =>
      ({
        bytes: new Uint8Array(1000).fill(n),
        inputName: 'x',
        outputs: ['c'],
        layout: 'nchw',
        nodeCount: 1,
        foldedBatchNorms: 0,
      }) as unknown as OnnxModel;
    const good = await cachedOnnxModel(onnx, 'tiny', 'a'.repeat(64), () => model(1));
    const bad = await cachedOnnxModel(onnx, 'tiny', 'b'.repeat(64), () => model(2));
    const bytes = fs.readFileSync(bad.file);
    bytes[10] = 9;
    fs.writeFileSync(bad.file, bytes);
    const r = await dpl(['weights', 'verify', '--plugin', PLUGIN_DIR, '--json']);
    expect(r.code).toBe(1);
    const rows = r.json<{ kind: string; file: string; ok: boolean; problem?: string }[]>();
    expect(rows).toEqual([
      { kind: 'onnx', backbone: 'tiny', file: good.file, ok: true },
      { kind: 'onnx', backbone: 'tiny', file: bad.file, ok: false, problem: expect.stringMatching(/does not match the recorded/) },
    ]);
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
