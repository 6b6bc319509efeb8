/**
 * The page's weight reading without a browser: core's readers on bytes in memory with the page's
 * zip container (fflate, packages/web/src/worker/zip.ts) against core's file readers (yauzl) on
 * the weight tests' fixtures: the same state_dict for every checkpoint the file reader reads, a
 * refusal with the same error code for every one it refuses, and every malicious pickle refused
 * naming its global. Skipped, saying why, without the reference Python (it writes the fixtures).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readWeights, type StateDict } from '@dpl/core';
import { memoryWeights } from '../../core/src/weights/byte-source';
import { readWeightsFrom } from '../../core/src/weights/read-bytes';
import { openZipInMemory } from '../src/worker/zip';
import { itWithPython, runFixtures, tempDir } from '../../core/test/weights/python-ref';

const { maybe, missing } = itWithPython('torch', 'web memory reader');
let dir = '';
beforeAll(() => {
  if (missing) return;
  dir = tempDir('web-memory');
  for (const set of ['pth', 'formats', 'security']) {
    fs.mkdirSync(path.join(dir, set));
    runFixtures([set, path.join(dir, set)]);
  }
}, 300_000);
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const inMemory = (file: string) =>
  readWeightsFrom(memoryWeights(path.basename(file), new Uint8Array(fs.readFileSync(file))), {}, openZipInMemory);

const weightFiles = (sub: string) =>
  fs
    .readdirSync(path.join(dir, sub))
    .filter((f) => /\.(pth|pt|safetensors)$/.test(f))
    .map((f) => path.join(dir, sub, f));

function sameStateDict(got: StateDict, want: StateDict): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [k, w] of want) {
    const g = got.get(k)!;
    expect(g.shape).toEqual(w.shape);
    expect(g.dtype).toBe(w.dtype);
    expect(
      Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength).equals(
        Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength),
      ),
    ).toBe(true);
  }
}

maybe(
  'every fixture reads to the same state_dict, or is refused with the same code, from bytes as from the file',
  async () => {
    const files = [...weightFiles('pth'), ...weightFiles('formats')];
    expect(files.length).toBeGreaterThan(10);
    let read = 0;
    let refused = 0;
    for (const file of files) {
      let want: StateDict | null = null;
      let wantCode = '';
      try {
        want = await readWeights(file);
      } catch (e) {
        wantCode = (e as { code?: string }).code ?? 'not a DplError';
      }
      if (want) {
        sameStateDict(await inMemory(file), want);
        read++;
      } else {
        await expect(inMemory(file)).rejects.toMatchObject({ code: wantCode });
        refused++;
      }
    }
    // both kinds occur among the fixtures (the pth set holds damaged and odd files)
    expect(read).toBeGreaterThan(5);
    expect(refused).toBeGreaterThan(0);
  },
  300_000,
);

maybe(
  'every malicious pickle (os.system, eval, subprocess.Popen; zip and legacy) is refused, naming its global',
  async () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'security', 'security.json'), 'utf-8')) as {
      files: Record<string, { path: string; marker: string }>;
      globals: Record<string, string>;
    };
    const keys = Object.keys(manifest.files);
    expect(keys.length).toBeGreaterThanOrEqual(8);
    for (const key of keys) {
      const global = manifest.globals[key.split('_')[0]];
      await expect(inMemory(manifest.files[key].path)).rejects.toMatchObject({
        code: 'E_WEIGHTS',
        message: expect.stringContaining(`the pickle references the global '${global}'`),
      });
      expect(fs.existsSync(manifest.files[key].marker)).toBe(false);
    }
  },
  120_000,
);
