import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../src/cli';
import { renderCsv } from '../src/report/csv';
import type { Report } from '../src/report/model';
import { dpl, png, ROOT, tmpDir } from './helpers';

process.env.DPL_BACKEND = 'wasm';
const QUICK = path.join(ROOT, 'suites', 'quick.yaml');

/** Runs dpl in a fresh empty folder (outputs pointed into it) and says what is left there. */
async function inEmptyDir(args: (dir: string) => string[]) {
  const dir = tmpDir('dpl-opt-');
  const r = await dpl(args(dir), dir);
  return { ...r, left: fs.readdirSync(dir) };
}

describe('usage errors: exit 2, the option named, nothing written, nothing run', () => {
  // inputs live outside the folder a case runs in (which must stay empty)
  const inputs = tmpDir('dpl-opt-in-');
  beforeAll(async () => {
    fs.mkdirSync(path.join(inputs, 'd0'));
    fs.mkdirSync(path.join(inputs, 'd1'));
    await png(path.join(inputs, 'a.png'), 32, 32, 1);
    await png(path.join(inputs, 'd0', 'x.png'), 32, 32, 2);
    await png(path.join(inputs, 'd1', 'x.png'), 32, 32, 3);
  });
  // a valid command line per command (it would write into the case's folder); each case adds one mistake
  const base: Record<string, (d: string) => string[]> = {
    info: () => ['info'],
    list: () => ['list', 'backbones'],
    describe: () => ['describe', 'vgg16'],
    features: (d) => [
      'features',
      '--backbone',
      'vgg11',
      '--seed',
      '0',
      '--points',
      'relu1_1',
      '--input',
      path.join(inputs, 'a.png'),
      '--out',
      path.join(d, 'o'),
    ],
    run: (d) => ['run', QUICK, '--store', path.join(d, 's.sqlite'), '--workers', '0'],
    'run --task': (d) => ['run', '--task', 'similarity', '--backbone', 'vgg11', '--weights', 'random', '--out', path.join(d, 'r.json')],
    report: (d) => ['report', '--store', path.join(d, 's.sqlite'), '--out', path.join(d, 'rep')],
    weights: () => ['weights', 'list'],
    similarity: (d) => [
      'similarity',
      ...['--backbone', 'vgg11', '--seed', '0', '--points', 'relu1_1'],
      ...['--dir0', path.join(inputs, 'd0'), '--dir1', path.join(inputs, 'd1'), '--out', path.join(d, 'x.csv')],
    ],
    worker: () => ['worker', '--queue', 'redis://127.0.0.1:1'],
    queue: () => ['queue', 'status', '--queue', 'redis://127.0.0.1:1'],
  };
  const cases: [string, string[]][] = Object.keys(base).flatMap((cmd): [string, string[]][] => [
    [cmd, ['--bogus-flag']],
    [cmd, ['--bogus-flag=3']],
    [cmd, ['--backend', 'quantum']],
  ]);
  it.each(Object.keys(base))('the base command line of dpl %s is valid (the cases below test the one mistake they add)', async (cmd) => {
    if (cmd === 'worker' || cmd === 'queue') {
      // they would connect to Redis: parsed with --help, which runs nothing
      const r = await inEmptyDir((d) => [...base[cmd](d), '--help']);
      expect({ code: r.code, left: r.left }).toEqual({ code: 0, left: [] });
    } else if (cmd.startsWith('run')) {
      const r = await inEmptyDir((d) => [...base[cmd](d), '--dry-run']);
      expect({ code: r.code, left: r.left }).toEqual({ code: 0, left: [] });
    } else if (cmd === 'report') {
      const r = await inEmptyDir(base[cmd]);
      expect({ code: r.code, left: r.left }).toEqual({ code: 1, left: [] });
      expect(r.err).toMatch(/no results store at/);
    } else {
      const r = await inEmptyDir(base[cmd]);
      expect(r.code).toBe(0);
      // features and similarity write what they compute into the case's folder
      expect(r.left.length).toBe(cmd === 'features' || cmd === 'similarity' ? 1 : 0);
    }
  });

  it.each(cases)('dpl %s + %j', async (cmd, extra) => {
    const r = await inEmptyDir((d) => [...base[cmd](d), ...extra]);
    expect({ code: r.code, left: r.left }).toEqual({ code: 2, left: [] });
    expect(r.err).toMatch(
      extra[0] === '--backend'
        ? /--backend quantum is not one of auto, tensorflow, wasm, cpu/
        : /unknown option --bogus-flag\n {2}fix: dpl \S+ accepts --/,
    );
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
    expect(r.out).toBe('');
  });

  it('an unknown option lists the valid ones; an unknown command lists the commands', async () => {
    const r = await inEmptyDir((d) => ['run', QUICK, '--dryrun', '--store', path.join(d, 's.sqlite')]);
    expect({ code: r.code, left: r.left }).toEqual({ code: 2, left: [] });
    expect(r.err).toMatch(
      /unknown option --dryrun\n {2}fix: dpl run accepts --backend, --plugin, --json, --max-pixels, --workers, .*--dry-run/,
    );
    const c = await inEmptyDir(() => ['frobnicate']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/unexpected argument 'frobnicate'[\s\S]*commands: info, list, describe, features, weights, run/);
    const none = await inEmptyDir(() => []);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/name a command/);
  });

  const feat = (d: string) => ['features', '--backbone', 'vgg16', '--input', path.join(ROOT, 'nope.png'), '--out', path.join(d, 'o')];
  const cell = (d: string) => ['run', '--task', 'similarity', '--backbone', 'vgg11', '--out', path.join(d, 'r.json')];
  const malformed: [string, (d: string) => string[], RegExp][] = [
    ['--seed abc', (d) => [...feat(d), '--seed', 'abc'], /--seed abc is not a whole number from 0 to 4294967295/],
    ['--seed 1.5', (d) => [...feat(d), '--seed', '1.5'], /--seed 1\.5 is not a whole number/],
    ['--seed -1', (d) => [...feat(d), '--seed', '-1'], /--seed -1 is not a whole number/],
    ['--seed 1e3', (d) => [...feat(d), '--seed', '1e3'], /--seed 1e3 is not a whole number/],
    ['--seed twice', (d) => [...feat(d), '--seed', '1', '--seed', '2'], /--seed is given 2 times \(1, 2\)/],
    ['bare --seed', (d) => [...feat(d), '--seed'], /Not enough arguments following: seed/],
    ['--seed before another option', () => ['features', '--seed', '--backbone', 'vgg16'], /Not enough arguments following: seed/],
    [
      '--seed with --weights',
      (d) => [...feat(d), '--seed', '1', '--weights', path.join(d, 'w.pth')],
      /--weights and --seed cannot be given together/,
    ],
    ['--normalize zscore', (d) => [...feat(d), '--seed', '0', '--normalize', 'zscore'], /--normalize zscore is not one of imagenet, none/],
    ['--engine gpu', (d) => [...feat(d), '--seed', '0', '--engine', 'gpu'], /--engine gpu is not one of/],
    ['--out twice', (d) => [...feat(d), '--seed', '0', '--out', path.join(d, 'p')], /--out is given 2 times/],
    ['--out empty', () => ['features', '--backbone', 'vgg16', '--seed', '0', '--input', 'x.png', '--out', ''], /--out is empty/],
    [
      'features without --input',
      (d) => ['features', '--backbone', 'vgg16', '--out', path.join(d, 'o')],
      /Missing required argument: input/,
    ],
    [
      '--workers -1',
      (d) => ['run', QUICK, '--store', path.join(d, 's'), '--workers', '-1'],
      /--workers -1 is not a whole number from 0 to 1024/,
    ],
    ['--workers 1.5', (d) => ['run', QUICK, '--store', path.join(d, 's'), '--workers', '1.5'], /--workers 1\.5/],
    [
      '--attempts 0',
      (d) => ['run', QUICK, '--store', path.join(d, 's'), '--queue', 'redis://127.0.0.1:1', '--attempts', '0'],
      /--attempts 0/,
    ],
    ['--attempts without --queue', (d) => ['run', QUICK, '--store', path.join(d, 's'), '--attempts', '2'], /--attempts needs --queue/],
    [
      '--queue with --workers',
      (d) => ['run', QUICK, '--store', path.join(d, 's'), '--queue', 'redis://127.0.0.1:1', '--workers', '2'],
      /--queue and --workers cannot be given together/,
    ],
    ['suite and --task', (d) => ['run', QUICK, '--task', 'similarity', '--store', path.join(d, 's')], /a suite file or --task, not both/],
    ['--task without --backbone', (d) => ['run', '--task', 'similarity', '--out', path.join(d, 'r.json')], /--task needs --backbone/],
    [
      '--backbone with a suite',
      (d) => ['run', QUICK, '--backbone', 'vgg16', '--store', path.join(d, 's')],
      /--backbone applies to dpl run --task only/,
    ],
    ['--filter with --task', (d) => [...cell(d), '--filter', 'task=x'], /--filter applies to a suite run/],
    ['run --seed abc', (d) => [...cell(d), '--seed', 'abc'], /--seed abc is not a whole number/],
    ['--set constructor=1', (d) => [...cell(d), '--set', 'constructor=1'], /--set constructor=1: 'constructor' is not a setting/],
    ['--set __proto__', (d) => [...cell(d), '--set', '__proto__={"x":1}'], /'__proto__' is not a setting/],
    ['--set oops', (d) => [...cell(d), '--set', 'oops'], /--set oops: is not key=value/],
    ['--set twice', (d) => [...cell(d), '--set', 'epochs=1', '--set', 'epochs=2'], /--set epochs is given twice/],
    ['--size 0', () => ['describe', 'vgg16', '--size', '0'], /--size 0 is not a whole number from 1 to 8192/],
    ['--size 1e9', () => ['describe', 'vgg16', '--size', '1e9'], /--size 1e9 is not a whole number from 1 to 8192/],
    ['--size 9000', () => ['describe', 'vgg16', '--size', '9000'], /--size 9000 is not a whole number from 1 to 8192/],
    ['--size 3 values', () => ['describe', 'vgg16', '--size', '1', '2', '3'], /--size takes H and W/],
    ['--size below the minimum', () => ['describe', 'vgg16', '--size', '16'], /--size 16 is smaller than vgg16's minimum input \(32x32\)/],
    ['describe id and --all', () => ['describe', 'vgg16', '--all'], /a backbone \(vgg16\) or --all, not both/],
    ['list nope', () => ['list', 'nope'], /Invalid values:[\s\S]*nope/],
    ['--permutations 0', (d) => ['report', '--store', path.join(d, 's'), '--permutations', '0'], /--permutations 0 is not a whole number/],
    ['report --seed -1', (d) => ['report', '--store', path.join(d, 's'), '--seed', '-1'], /--seed -1 is not a whole number/],
    ['--format pdf', (d) => ['report', '--store', path.join(d, 's'), '--format', 'md,pdf'], /unknown --format 'pdf'/],
    [
      'info extra',
      () => ['info', 'extra'],
      /unexpected argument 'extra'\n {2}fix: dpl info accepts --backend, --plugin, --json, --max-pixels;/,
    ],
  ];
  it.each(malformed)('%s', async (_name, args, pattern) => {
    const r = await inEmptyDir(args);
    expect({ code: r.code, left: r.left }).toEqual({ code: 2, left: [] });
    expect(r.err).toMatch(pattern);
    expect(r.err.match(/fix:/g)).toHaveLength(1);
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
  });

  it('--json: a usage error is one JSON document on stdout', async () => {
    const r = await inEmptyDir(() => ['info', '--json', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.json()).toEqual({
      error: { code: 'E_USAGE', message: 'unknown option --bogus', fix: expect.stringMatching(/dpl info accepts/) },
      exitCode: 2,
    });
  });
});

describe('paths are checked before any work', () => {
  it('--out naming a file, a link loop and an empty .npy batch fail clearly (exit 1), writing nothing', async () => {
    const dir = tmpDir('dpl-opt-');
    const img = await png(path.join(dir, 'a.png'), 32, 32, 1);
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    fs.symlinkSync(path.join(dir, 'loop2'), path.join(dir, 'loop1'));
    fs.symlinkSync(path.join(dir, 'loop1'), path.join(dir, 'loop2'));
    const before = fs.readdirSync(dir).sort();
    const feat = ['features', '--backbone', 'vgg11', '--seed', '0', '--points', 'relu1_1'];
    const asFile = await dpl([...feat, '--input', img, '--out', path.join(dir, 'file')], dir);
    expect(asFile.code).toBe(1);
    expect(asFile.err).toMatch(/--out .*file: is an existing file, not a folder\n {2}fix: name a new or existing folder/);
    const loop = await dpl([...feat, '--input', path.join(dir, 'loop1'), '--out', path.join(dir, 'o')], dir);
    expect(loop.code).toBe(1);
    expect(loop.err).toMatch(/--input .*loop1: is a symbolic link loop/);
    const outLoop = await dpl([...feat, '--input', img, '--out', path.join(dir, 'loop1')], dir);
    expect(outLoop.err).toMatch(/--out .*loop1: is a symbolic link loop/);
    const rep = await dpl(['report', '--store', path.join(dir, 'loop1'), '--out', path.join(dir, 'r')], dir);
    expect(rep.code).toBe(1);
    expect(rep.err).toMatch(/--store .*loop1: is a symbolic link loop/);
    const runOut = await dpl(['run', '--task', 'similarity', '--backbone', 'vgg11', '--weights', 'random', '--out', dir], dir);
    expect(runOut.code).toBe(1);
    expect(runOut.err).toMatch(/--out .*: is a folder, not a file/);
    for (const r of [asFile, loop, outLoop, rep, runOut]) expect(r.err).not.toMatch(/internal error|\n\s+at /);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  it('an .npy batch of N=0 is refused naming the file, and no output folder is made', async () => {
    const dir = tmpDir('dpl-opt-');
    let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3, 8, 8), }`;
    h = h.padEnd(117) + '\n';
    const npy = path.join(dir, 'empty.npy');
    fs.writeFileSync(npy, Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, h.length, 0]), Buffer.from(h)]));
    const r = await dpl(['features', '--backbone', 'vgg11', '--seed', '0', '--input', npy, '--out', path.join(dir, 'o')], dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/empty\.npy: .*(no images|N is 0|batch)/);
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
    expect(fs.existsSync(path.join(dir, 'o'))).toBe(false);
  });
});

describe('dpl similarity on .npy batches', () => {
  const npy = (file: string, n: number) => {
    let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, 3, 8, 8), }`;
    h = h.padEnd(117) + '\n';
    const data = Buffer.alloc(4 * n * 3 * 64);
    for (let i = 0; i < n * 3 * 64; i++) data.writeFloatLE(((i * 37) % 100) / 100, 4 * i);
    fs.writeFileSync(
      file,
      Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, h.length, 0]), Buffer.from(h), data]),
    );
    return file;
  };
  it('a batch-size mismatch and an empty batch name both files and the fix', async () => {
    const dir = tmpDir('dpl-opt-');
    const [a, b, e] = [npy(path.join(dir, 'a.npy'), 2), npy(path.join(dir, 'b.npy'), 3), npy(path.join(dir, 'e.npy'), 0)];
    const net = ['--backbone', 'vgg11', '--seed', '0', '--points', 'relu1_1'];
    const mismatch = await dpl(['similarity', a, b, ...net], dir);
    expect(mismatch.code).toBe(1);
    expect(mismatch.err).toMatch(
      /a\.npy and .*b\.npy: hold different numbers of images \(batch sizes N 2 and 3\)[\s\S]*fix: pass \.npy batches of the same N/,
    );
    const empty = await dpl(['similarity', a, e, ...net], dir);
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(/e\.npy:? .*holds no images \((its batch size N is 0|N = 0)\)/);
    for (const r of [mismatch, empty]) expect(r.err).not.toMatch(/internal error|\n\s+at /);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.npy', 'b.npy', 'e.npy']);
  });
});

describe('dpl run --task --dry-run', () => {
  it('prints the resolved cell and runs nothing', async () => {
    const dir = tmpDir('dpl-opt-');
    const r = await dpl(
      [
        'run',
        '--task',
        'similarity',
        '--backbone',
        'vgg11',
        '--weights',
        'random',
        '--seed',
        '3',
        '--dry-run',
        '--json',
        '--out',
        path.join(dir, 'r.json'),
      ],
      ROOT,
    );
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ dryRun: true, task: 'similarity', backbone: 'vgg11', seed: 3, weights: { kind: 'random', seed: 3 } });
    expect(fs.readdirSync(dir)).toEqual([]);
    const bad = await dpl(
      ['run', '--task', 'similarity', '--backbone', 'vgg11', '--weights', 'random', '--dry-run', '--set', 'nope=1'],
      ROOT,
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/config key 'nope': is not a similarity setting/);
  });
});

describe('--json: stdout carries one JSON document, notes and progress go to stderr', () => {
  it('run --task with a plugin task, features and a suite dry run', async () => {
    const dir = tmpDir('dpl-opt-');
    const toy = path.join(ROOT, 'test', 'fixtures', 'toy-task');
    const cell = await dpl([
      'run',
      '--plugin',
      toy,
      '--task',
      'toy',
      '--backbone',
      'vgg11',
      '--points',
      'relu1_1',
      '--weights',
      'random',
      '--set',
      'size=40',
      '--json',
    ]);
    expect(cell.code).toBe(0);
    expect(cell.json<{ task: string }>().task).toBe('toy');
    expect(cell.err).toMatch(/started|done/); // progress, on stderr
    const img = await png(path.join(dir, 'a.png'), 32, 32, 2);
    const f = await dpl([
      'features',
      '--backbone',
      'vgg11',
      '--seed',
      '1',
      '--points',
      'relu1_1',
      '--input',
      img,
      '--out',
      path.join(dir, 'f'),
      '--json',
    ]);
    expect(f.code).toBe(0);
    expect(f.json<{ randomWeights: boolean }>().randomWeights).toBe(true);
    const dry = await dpl(['run', QUICK, '--store', path.join(dir, 's.sqlite'), '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(dry.json<{ cells: unknown[] }>().cells.length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, 's.sqlite'))).toBe(false);
  });

  it('a failure under --json is an {error} document with the exit status', async () => {
    const r = await dpl(['describe', 'vgg17', '--json']);
    expect(r.code).toBe(1);
    expect(r.json()).toEqual({
      error: { code: 'E_UNKNOWN_BACKBONE', message: "unknown backbone 'vgg17'", fix: expect.stringMatching(/^use one of: .*vgg16/) },
      exitCode: 1,
    });
  });
});

describe('errors that are bugs', () => {
  it('print "internal error: <message>" and how to see the stack; the stack only under DPL_DEBUG=1', async () => {
    const run = async () => {
      const err: string[] = [];
      const io = {
        out: () => {
          throw new TypeError('stdout went away');
        },
        err: (l: string) => err.push(l),
        cwd: ROOT,
        tty: false,
      };
      return { code: await runCli(['info'], io), err: err.join('\n') };
    };
    const plain = await run();
    expect(plain.code).toBe(1);
    expect(plain.err).toBe('internal error: stdout went away\n  (rerun with DPL_DEBUG=1 to see the stack trace)');
    process.env.DPL_DEBUG = '1';
    try {
      const debug = await run();
      expect(debug.err).toMatch(/^internal error: stdout went away\nTypeError: stdout went away\n\s+at /);
    } finally {
      delete process.env.DPL_DEBUG;
    }
  });
});

describe('the dpl executable (packages/cli/dist/main.js)', () => {
  const main = path.join(ROOT, 'packages', 'cli', 'dist', 'main.js');
  const exe = (args: string[], env: Record<string, string> = {}) => {
    const dir = tmpDir('dpl-opt-');
    const r = spawnSync(process.execPath, [main, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, DPL_BACKEND: 'wasm', ...env },
    });
    return { code: r.status, out: r.stdout, err: r.stderr, left: fs.readdirSync(dir) };
  };
  it('exits 0 when done, 1 when the work fails, 2 on a usage error; stacks only under DPL_DEBUG=1', () => {
    expect(exe(['list', 'tasks', '--json']).code).toBe(0);
    const usage = exe(['run', QUICK, '--dryrun', '--store', 's.sqlite']);
    expect(usage).toEqual({ code: 2, out: '', err: expect.stringMatching(/^error: unknown option --dryrun\n/), left: [] });
    const failed = exe(['describe', 'vgg17']);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/^error: unknown backbone 'vgg17'/);
    expect(failed.err).not.toMatch(/\n\s+at /);
    const debug = exe(['describe', 'vgg17'], { DPL_DEBUG: '1' });
    expect(debug.code).toBe(1);
    expect(debug.err).toMatch(/DplError: unknown backbone 'vgg17'[\s\S]*\n\s+at /);
  });
});

describe('report CSV (csv-stringify)', () => {
  const cell = (backbone: string, headline: number | null) => ({
    useCase: 'u',
    task: 't',
    preset: 'quick',
    backbone,
    points: ['a', 'b'],
    column: 'c',
    seed: 0,
    weights: 'random',
    backend: 'wasm',
    dplVersion: '0.1.0',
    seconds: 1.5,
    headlineMetric: 'm',
    headline,
    metrics: { m: headline ?? NaN },
    splits: null,
    hash: 'h',
  });
  it('ordinary values as before; commas, quotes and line breaks quoted; non-finite numbers empty', () => {
    const csv = renderCsv({ cells: [cell('vgg16', 0.25), cell('we,"ird"\nnet', null)] } as unknown as Report);
    expect(csv.split('\r\n')).toEqual([
      'use_case,task,preset,backbone,point,column,seed,weights,backend,dpl_version,seconds,headline_metric,headline,m',
      'u,t,quick,vgg16,a+b,c,0,random,wasm,0.1.0,1.5,m,0.25,0.25',
      'u,t,quick,"we,""ird""\nnet",a+b,c,0,random,wasm,0.1.0,1.5,m,,',
      '',
    ]);
  });
});

describe('suite files', () => {
  it.each(['constructor', '__proto__'])('an override named %s is refused as an unknown setting', async (key) => {
    const dir = tmpDir('dpl-opt-');
    const suite = path.join(dir, 'proto.yaml');
    fs.writeFileSync(
      suite,
      `backbones: [vgg11]\npoints: relu1_1\nweights: random\ntasks:\n  - task: similarity\n    overrides: {${key}: {x: 1}}\n`,
    );
    const r = await dpl(['run', suite, '--store', path.join(dir, 's.sqlite'), '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`config key '${key}': is not a similarity setting`);
    expect(fs.readdirSync(dir)).toEqual(['proto.yaml']);
  });

  it('a YAML alias bomb is refused with a clear error, before anything is expanded or written', async () => {
    const dir = tmpDir('dpl-opt-');
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const [p, n] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      rows.push(`${n}: &${n} [${Array(10).fill(`*${p}`).join(',')}]`);
    }
    rows.push('tasks: [{task: similarity, overrides: {x: *i}}]'); // 10^9 strings once expanded
    const suite = path.join(dir, 'bomb.yaml');
    fs.writeFileSync(suite, rows.join('\n') + '\n');
    const r = await dpl(['run', suite, '--store', path.join(dir, 's.sqlite'), '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/suite .*bomb\.yaml cannot be expanded: Excessive alias count[\s\S]*fix: use at most 100 YAML aliases/);
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
    expect(fs.readdirSync(dir)).toEqual(['bomb.yaml']);
  });
});

describe('--max-pixels', () => {
  const saved = process.env.DPL_MAX_PIXELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.DPL_MAX_PIXELS;
    else process.env.DPL_MAX_PIXELS = saved;
  });

  it('an image over the limit is refused from its header, naming the image; nothing is written', async () => {
    const dir = tmpDir('dpl-opt-');
    const img = await png(path.join(tmpDir('dpl-opt-in-'), 'big.png'), 40, 30, 1);
    const out = path.join(dir, 'o');
    const args = ['features', '--backbone', 'vgg11', '--seed', '0', '--points', 'relu1_1', '--input', img, '--out', out];
    const r = await dpl([...args, '--max-pixels', '1000']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('big.png');
    expect(r.err).toMatch(/40x30|1200/);
    expect(fs.readdirSync(dir)).toEqual([]);
    // the same image within a raised limit is read
    const ok = await dpl([...args, '--max-pixels', '1200']);
    expect(ok.code).toBe(0);
    expect(fs.readdirSync(out)).toContain('relu1_1.npy');
  });

  it.each(['0', '-5', '1.5', 'many'])('--max-pixels %s is a usage error', async (v) => {
    const r = await dpl(['describe', 'vgg11', '--max-pixels', v]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--max-pixels');
  });
});
