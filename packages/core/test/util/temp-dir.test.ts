import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { liveTempDirs, makeTempDir, removeTempDir, withTempDir } from '../../src/util/temp-dir';

describe('temporary folders', () => {
  it('withTempDir removes its folder after success', async () => {
    let seen = '';
    const out = await withTempDir('dpl-test-ok-', (dir) => {
      seen = dir;
      fs.writeFileSync(path.join(dir, 'f'), 'x');
      return 42;
    });
    expect(out).toBe(42);
    expect(path.basename(seen)).toMatch(/^dpl-test-ok-/);
    expect(fs.existsSync(seen)).toBe(false);
    expect(liveTempDirs()).not.toContain(seen);
  });

  it('withTempDir removes its folder after a failure and passes the error on', async () => {
    let seen = '';
    await expect(
      withTempDir('dpl-test-fail-', async (dir) => {
        seen = dir;
        fs.mkdirSync(path.join(dir, 'sub'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(fs.existsSync(seen)).toBe(false);
  });

  it('leaves the signal handlers as they were once no folder is live', () => {
    const before = process.listenerCount('SIGINT');
    const dir = makeTempDir('dpl-test-listeners-');
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    removeTempDir(dir);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  describe('in a child process', () => {
    let work: string;
    let moduleJs: string;
    beforeAll(() => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-tempdir-test-'));
      // The child runs the helper's own source, transpiled here (it only imports node modules).
      const src = fs.readFileSync(path.join(__dirname, '../../src/util/temp-dir.ts'), 'utf8');
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } });
      moduleJs = path.join(work, 'temp-dir.js');
      fs.writeFileSync(moduleJs, js.outputText);
    });
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

    /** Starts a child that makes a temp folder (under its own TMPDIR), prints its path and waits. */
    function child(extra = ''): {
      tmp: string;
      run: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
      dir: Promise<string>;
      kill: (s: NodeJS.Signals) => void;
    } {
      const tmp = fs.mkdtempSync(path.join(work, 'tmp-'));
      const script = `
        const t = require(${JSON.stringify(moduleJs)});
        const fs = require('fs');
        ${extra}
        const dir = t.makeTempDir('dpl-cell-child-');
        fs.writeFileSync(dir + '/partial', 'x'.repeat(1000));
        process.stdout.write(dir + '\\n');
        setInterval(() => {}, 1000);
      `;
      const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'ignore'] });
      const dir = new Promise<string>((resolve) => {
        let buf = '';
        p.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) resolve(buf.trim());
        });
      });
      const run = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        p.on('exit', (code, signal) => resolve({ code, signal })),
      );
      return { tmp, run, dir, kill: (s) => p.kill(s) };
    }

    it.each(['SIGINT', 'SIGTERM'] as const)('removes the folder on %s and still ends by that signal', async (sig) => {
      const c = child();
      const dir = await c.dir;
      expect(fs.existsSync(path.join(dir, 'partial'))).toBe(true);
      c.kill(sig);
      const end = await c.run;
      expect(end.signal).toBe(sig);
      expect(fs.existsSync(dir)).toBe(false);
      expect(fs.readdirSync(c.tmp)).toEqual([]);
    });

    it("lets the program's own signal handler decide, and cleans up when the process exits", async () => {
      const c = child(`process.on('SIGTERM', () => process.exit(3));`);
      const dir = await c.dir;
      c.kill('SIGTERM');
      const end = await c.run;
      expect(end.code).toBe(3);
      expect(fs.existsSync(dir)).toBe(false);
    });

    it('removes the folder when the process exits on an uncaught error', async () => {
      const c = child(`setTimeout(() => { throw new Error('crash'); }, 0);`);
      const dir = await c.dir;
      const end = await c.run;
      expect(end.code).toBe(1);
      expect(fs.existsSync(dir)).toBe(false);
      expect(fs.readdirSync(c.tmp)).toEqual([]);
    });
  });
});
