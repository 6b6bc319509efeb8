/**
 * Malicious checkpoints: pickles whose REDUCE would run os.system / eval / subprocess.Popen.
 * fixtures.py proves each construction is live (Python's own loaders run it and create a marker
 * file); our reader must refuse it, name the global and the file, and create no marker.
 */
import childProcess = require('child_process'); // the module object itself (a namespace import's properties cannot be spied on)
import * as fs from 'fs';
import * as path from 'path';
import { readPth } from '../../src/weights/pth';
import { readWeights } from '../../src/weights/read-weights';
import { unpickle } from '../../src/weights/pickle';
import { itWithPython, runFixtures, tempDir } from './python-ref';

interface Manifest {
  files: Record<string, { path: string; marker: string }>;
  live: Record<string, boolean>;
  globals: Record<string, string>;
}

const { maybe, missing } = itWithPython('torch', 'security');
let dir = '';
let manifest: Manifest;

beforeAll(() => {
  if (missing) return;
  dir = tempDir('security');
  runFixtures(['security', dir]);
  manifest = JSON.parse(fs.readFileSync(path.join(dir, 'security.json'), 'utf-8')) as Manifest;
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const variants = ['system', 'eval', 'popen', 'torchsave'].flatMap((v) => [`${v}_zip`, `${v}_legacy`]);

describe('malicious checkpoints are refused without running anything', () => {
  for (const key of variants) {
    maybe(key, async () => {
      // The payload really runs code under Python's unpickler...
      expect(manifest.live[key]).toBe(true);
      const { path: file, marker } = manifest.files[key];
      const global = manifest.globals[key.split('_')[0]];
      // ...and our reader refuses it, naming the global and the file.
      // every way to start a process, counted (no sleep: a spawn would be seen here, not guessed from time)
      const starts = (['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const).map((f) =>
        jest.spyOn(childProcess, f),
      );
      await expect(readPth(file)).rejects.toMatchObject({
        code: 'E_WEIGHTS',
        message: expect.stringContaining(`the pickle references the global '${global}'`),
      });
      await expect(readWeights(file)).rejects.toThrow(file);
      for (const spy of starts) {
        expect(spy).not.toHaveBeenCalled();
        spy.mockRestore();
      }
      expect(fs.existsSync(marker)).toBe(false);
    });
  }
});

describe('pickle interpreter allow-list (hand-written pickles, no Python needed)', () => {
  const run = (bytes: number[] | Buffer, persistent = false) => unpickle(Uint8Array.from(bytes), { source: 'mem.pkl', persistent });
  const str = (s: string) => [...Buffer.from(s, 'latin1')];

  it('refuses any global outside the list at the GLOBAL opcode, before REDUCE', () => {
    // PROTO 2, GLOBAL 'os\nsystem\n' then garbage: the error must come from the GLOBAL.
    const bytes = [0x80, 2, 0x63, ...str('os\nsystem\n'), 0xff, 0xff];
    expect(() => run(bytes)).toThrow("mem.pkl: refusing to load: the pickle references the global 'os.system'");
  });

  it('refuses STACK_GLOBAL with a disallowed name, and lookalikes of allowed names', () => {
    const sg = (mod: string, name: string) => [0x80, 4, 0x8c, mod.length, ...str(mod), 0x8c, name.length, ...str(name), 0x93, 0x2e];
    expect(() => run(sg('builtins', 'exec'))).toThrow("global 'builtins.exec'");
    expect(() => run(sg('torch', '_utils._rebuild_tensor_v2'))).toThrow("global 'torch._utils._rebuild_tensor_v2'");
    expect(() => run(sg('torch.storage', '_load_from_bytes'))).toThrow("global 'torch.storage._load_from_bytes'");
    expect(() => run(sg('collections', 'OrderedDict'))).not.toThrow();
  });

  it('REDUCE of an allowed non-callable (a storage class) is refused', () => {
    // GLOBAL torch.FloatStorage, EMPTY_TUPLE, REDUCE, STOP
    const bytes = [0x80, 2, 0x63, ...str('torch\nFloatStorage\n'), 0x29, 0x52, 0x2e];
    expect(() => run(bytes)).toThrow("REDUCE of 'torch.FloatStorage' is not supported");
  });

  it('NEWOBJ and BUILD only for OrderedDict / dicts; INST, OBJ and EXT opcodes are unsupported', () => {
    const newobj = [0x80, 2, 0x63, ...str('torch\nFloatStorage\n'), 0x29, 0x81, 0x2e];
    expect(() => run(newobj)).toThrow("NEWOBJ of 'torch.FloatStorage' is not supported");
    const build = [0x80, 2, 0x4b, 1, 0x7d, 0x62, 0x2e]; // BININT1 1, EMPTY_DICT, BUILD
    expect(() => run(build)).toThrow('BUILD of a int is not supported');
    expect(() => run([0x80, 2, 0x28, 0x69, ...str('os\nsystem\n'), 0x2e])).toThrow('unsupported pickle opcode INST');
    expect(() => run([0x80, 2, 0x28, 0x6f, 0x2e])).toThrow('unsupported pickle opcode OBJ');
    expect(() => run([0x80, 2, 0x82, 1, 0x2e])).toThrow('unsupported pickle opcode EXT1');
  });

  it('reads plain values and rejects truncation', () => {
    // {'a': [1, -2, 3.5, None, True, 'x']}: EMPTY_DICT BINUNICODE EMPTY_LIST MARK ... APPENDS SETITEM STOP
    const ok = [
      0x80, 2, 0x7d, 0x58, 1, 0, 0, 0, 0x61, 0x5d, 0x28, 0x4b, 1, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x47, 0x40, 0x0c, 0, 0, 0, 0, 0, 0, 0x4e,
      0x88, 0x58, 1, 0, 0, 0, 0x78, 0x65, 0x73, 0x2e,
    ];
    const v = run(ok).value as { items: Map<unknown, unknown> };
    expect(v.items.get('a')).toEqual([1, -2, 3.5, null, true, 'x']);
    expect(() => run(ok.slice(0, 20))).toThrow(/mem\.pkl: corrupt pickle \(unexpected end of data/);
    expect(() => run([0x80, 2, 0x51, 0x2e])).toThrow(/corrupt pickle \(stack underflow/);
  });
});
