/**
 * Results stores are opened read-only by commands that only read, carry an application id and a
 * schema version, and a SQLite file that is not a dpl store is refused and left byte-for-byte
 * unchanged (no -wal/-shm created). Note: these tests run as root, for whom chmod does not block
 * writes, so "read-only" is asserted by what happened to the files (bytes, mtime, no -wal/-shm)
 * rather than by the permission bits alone.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { STORE_APPLICATION_ID, STORE_SCHEMA_VERSION } from '../../src/store/open-store';
import { ResultsStore } from '../../src/store/results-store';
import { dpl, ROOT, tmpDir } from '../helpers';
import { buildStore } from '../report/fixture-store';
import { toySuite } from '../suite/toy-suite';

const TOY_TASK = path.join(ROOT, 'test', 'fixtures', 'toy-task');

/** Everything about a folder that a write would change: names, bytes, mtimes. */
function snapshot(dir: string) {
  const files = fs
    .readdirSync(dir)
    .sort()
    .map((n) => {
      const f = path.join(dir, n);
      const st = fs.statSync(f);
      return { n, mtime: st.mtimeMs, mode: st.mode, bytes: st.isFile() ? fs.readFileSync(f).toString('base64') : null };
    });
  // a file created and removed again would still change the folder's mtime
  return { folderMtime: fs.statSync(dir).mtimeMs, files };
}

const header = (file: string) => {
  const b = fs.readFileSync(file);
  return { appId: b.readUInt32BE(68), userVersion: b.readUInt32BE(60), wal: b[18] === 2 };
};

/** A store as dpl wrote it before ids were stamped: the same tables, application id 0, left in WAL mode. */
function legacyStore(file: string, fixture: string) {
  buildStore(fixture);
  const src = new Database(fixture);
  src.pragma('application_id = 0');
  src.pragma('user_version = 0');
  src.pragma('journal_mode = WAL');
  src.exec(`VACUUM INTO '${file}'`);
  src.close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.close();
}

describe('results store safety', () => {
  it('a new store carries the application id and schema version, and is not left in WAL mode', () => {
    const dir = tmpDir('dpl-store-');
    const file = path.join(dir, 's.sqlite');
    buildStore(file);
    expect(header(file)).toEqual({ appId: STORE_APPLICATION_ID, userVersion: STORE_SCHEMA_VERSION, wal: false });
    expect(fs.readdirSync(dir)).toEqual(['s.sqlite']);
  });

  describe.each([
    ['rollback journal', false],
    ['WAL', true],
  ])('a SQLite file of another application (%s) is refused and left unchanged', (_name, wal) => {
    let dir: string;
    let file: string;
    let before: ReturnType<typeof snapshot>;
    beforeAll(() => {
      dir = tmpDir('dpl-store-foreign-');
      file = path.join(dir, 'theirs.db');
      const db = new Database(file);
      if (wal) db.pragma('journal_mode = WAL');
      db.exec("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada')");
      db.close();
      before = snapshot(dir);
    });

    it.each([
      ['report', () => ['report', '--store', file, '--out', path.join(tmpDir(), 'o')]],
      ['run --dry-run', () => ['run', toySuite(tmpDir()).suite, '--store', file, '--plugin', TOY_TASK, '--dry-run']],
      ['run', () => ['run', toySuite(tmpDir()).suite, '--store', file, '--plugin', TOY_TASK, '--workers', '0']],
    ])('%s', async (_cmd, args) => {
      const r = await dpl(args());
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        `results store ${file}: is a SQLite database that is not a dpl results store (its tables: users); it was left unchanged`,
      );
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(snapshot(dir)).toEqual(before);
    });

    it('and by the store class directly, read or write', () => {
      expect(() => new ResultsStore(file)).toThrow(/not a dpl results store/);
      expect(() => new ResultsStore(file, { readonly: true })).toThrow(/not a dpl results store/);
      expect(snapshot(dir)).toEqual(before);
    });
  });

  it('a SQLite file with another application id, or a file that is not SQLite, is refused unchanged', async () => {
    const dir = tmpDir('dpl-store-foreign-');
    const other = path.join(dir, 'other.db');
    const db = new Database(other);
    db.pragma('application_id = 1234');
    db.close();
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'hello, this is not a database at all, but it is long enough to have a header of 100 bytes......');
    const before = snapshot(dir);
    const a = await dpl(['report', '--store', other, '--out', path.join(dir, 'o')]);
    expect(a.err).toContain('another application (application id 0x4d2), not a dpl results store; it was left unchanged');
    const b = await dpl(['run', toySuite(tmpDir()).suite, '--store', text, '--plugin', TOY_TASK, '--workers', '0']);
    expect(b.code).toBe(1);
    expect(b.err).toContain(`results store ${text}: is not a SQLite database`);
    expect(snapshot(dir)).toEqual(before);
  });

  it('report and run --dry-run read a store in a read-only folder without writing anything', async () => {
    const dir = tmpDir('dpl-store-ro-');
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro);
    const file = path.join(ro, 'results.sqlite');
    buildStore(file);
    fs.chmodSync(file, 0o444);
    fs.chmodSync(ro, 0o555);
    try {
      const before = snapshot(ro);
      const rep = await dpl(['report', '--store', file, '--out', path.join(dir, 'report'), '--permutations', '100']);
      expect(rep.err).toBe('');
      expect(rep.code).toBe(0);
      const { suite } = toySuite(tmpDir());
      const dry = await dpl(['run', suite, '--store', file, '--plugin', TOY_TASK, '--dry-run', '--json']);
      expect(dry.code).toBe(0);
      expect(dry.json<{ cells: unknown[] }>().cells).toHaveLength(4);
      // nothing changed: same bytes and mtime, and no -wal/-shm appeared
      expect(snapshot(ro)).toEqual(before);
    } finally {
      fs.chmodSync(ro, 0o755);
    }
  });

  it('a store from before ids were stamped is read as it is, and adopted on its first write', async () => {
    const dir = tmpDir('dpl-store-legacy-');
    const file = path.join(dir, 'old.sqlite');
    legacyStore(file, path.join(tmpDir(), 'fixture.sqlite'));
    expect(header(file)).toMatchObject({ appId: 0, wal: true });
    const before = snapshot(dir);
    const rep = await dpl(['report', '--store', file, '--out', path.join(tmpDir(), 'o'), '--permutations', '100']);
    expect(rep.code).toBe(0);
    expect(snapshot(dir)).toEqual(before); // a read never adopts, and leaves no -wal/-shm
    const store = new ResultsStore(file);
    expect(store.counts().done).toBeGreaterThan(0);
    store.close();
    expect(header(file)).toEqual({ appId: STORE_APPLICATION_ID, userVersion: STORE_SCHEMA_VERSION, wal: false });
    expect(fs.readdirSync(dir)).toEqual(['old.sqlite']);
  });

  it('a corrupt JSON value names the store, the cell and the column', async () => {
    const dir = tmpDir('dpl-store-json-');
    const file = path.join(dir, 's.sqlite');
    buildStore(file);
    const db = new Database(file);
    const hash = (db.prepare("SELECT hash FROM cells WHERE status = 'done' LIMIT 1").get() as { hash: string }).hash;
    db.prepare('UPDATE cells SET metrics = ? WHERE hash = ?').run('{"2afc_mean": 0.5,', hash);
    db.close();
    const r = await dpl(['report', '--store', file, '--out', path.join(dir, 'o')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`results store ${file}: cell ${hash} has invalid JSON in column metrics`);
    expect(r.err).toMatch(/fix: the store is damaged/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('--store under /proc, a FIFO or a folder is refused at once', async () => {
    const dir = tmpDir('dpl-store-odd-');
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const suite = toySuite(tmpDir()).suite;
    for (const [store, msg] of [
      ['/proc/self/status', 'is under /proc, which holds no files'],
      [fifo, 'is not a regular file'],
      [dir, 'is not a regular file'],
    ]) {
      const r = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--workers', '0']);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`results store ${store}: ${msg}`);
      const d = await dpl(['run', suite, '--store', store, '--plugin', TOY_TASK, '--dry-run']);
      expect(d.err).toContain(`results store ${store}: ${msg}`);
    }
    expect(fs.readdirSync(dir)).toEqual(['pipe']);
  });
});
