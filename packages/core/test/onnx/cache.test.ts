/**
 * The ONNX model cache is verified by content hash: the exported model's SHA-256 is recorded next
 * to it and checked on every load, whatever its size. (Runs without onnxruntime: only the cache.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cachedOnnxModel, checkCachedModel, verifyOnnxCache } from '../../src/onnx/cache';
import type { OnnxModel } from '../../src/onnx/export';

const model = (fill: number): OnnxModel =>
  ({
    bytes: new Uint8Array(4096).fill(fill),
    inputName: 'input',
    outputs: ['a'],
    layout: 'nchw',
    nodeCount: 1,
    foldedBatchNorms: 0,
  }) as unknown as OnnxModel;

describe('ONNX model cache', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-onnx-cache-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('records the SHA-256, reuses an intact model, and re-exports one whose bytes changed (same size)', async () => {
    let builds = 0;
    const build = () => (builds++, model(7));
    const first = await cachedOnnxModel(dir, 'net', 'k1', build);
    expect(first.reused).toBe(false);
    expect(first.info.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await cachedOnnxModel(dir, 'net', 'k1', build)).reused).toBe(true);
    expect(builds).toBe(1);

    const bytes = fs.readFileSync(first.file);
    bytes[100] ^= 0xff; // same size: a size check would not see it
    fs.writeFileSync(first.file, bytes);
    expect(checkCachedModel(first.file).problem).toMatch(/^SHA-256 [0-9a-f]{16}\.\.\. does not match the recorded/);
    const log: string[] = [];
    const again = await cachedOnnxModel(dir, 'net', 'k1', build, (l) => log.push(l));
    expect(again.reused).toBe(false);
    expect(builds).toBe(2);
    expect(log).toEqual([expect.stringMatching(/failed its check \(SHA-256 .* re-exporting it$/)]);
    expect(fs.readFileSync(again.file)).toEqual(Buffer.from(model(7).bytes));
  });

  it('treats a model without a recorded hash (an older dpl) as unverified and re-exports it', async () => {
    const first = await cachedOnnxModel(dir, 'net', 'k2', () => model(1));
    const info = JSON.parse(fs.readFileSync(`${first.file}.json`, 'utf8'));
    delete info.sha256;
    fs.writeFileSync(`${first.file}.json`, JSON.stringify(info));
    expect(checkCachedModel(first.file).problem).toMatch(/no recorded SHA-256/);
    expect((await cachedOnnxModel(dir, 'net', 'k2', () => model(1))).reused).toBe(false);
  });

  it('verifyOnnxCache reports each model as ok or damaged', async () => {
    const a = await cachedOnnxModel(dir, 'alpha', 'ka', () => model(2));
    const b = await cachedOnnxModel(dir, 'beta', 'kb', () => model(3));
    fs.appendFileSync(b.file, 'x');
    const rows = verifyOnnxCache(dir);
    expect(rows).toEqual([
      { file: a.file, backbone: 'alpha', ok: true },
      { file: b.file, backbone: 'beta', ok: false, problem: expect.stringMatching(/^SHA-256 .* does not match/) },
    ]);
    expect(verifyOnnxCache(path.join(dir, 'missing'))).toEqual([]);
  });
});
