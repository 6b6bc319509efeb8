/**
 * Opening a results store safely. A store is a SQLite file that says it is dpl's: PRAGMA
 * application_id is STORE_APPLICATION_ID and PRAGMA user_version the schema version. Before
 * anything is written, the file is inspected without SQLite writing a byte (its 100-byte header,
 * then a read-only look at its tables), so a file that is not a dpl store is refused unchanged,
 * with no -wal/-shm created. A store made before ids were stamped (application id 0, dpl's tables
 * present) is adopted on its first write open, never on a read.
 *
 * Readers open read-only. A store is in WAL mode only while a writer has it open: the last writer
 * to close switches it back to a rollback journal, because a read-only connection to a WAL file
 * must create -wal/-shm next to it (impossible in a read-only folder, litter elsewhere). A WAL file
 * left by a killed writer without its -wal is read from an in-memory copy instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { DplError } from '@dpl/core';

/** 'dpl1' in ASCII: PRAGMA application_id of every results store. */
export const STORE_APPLICATION_ID = 0x64706c31;
/** PRAGMA user_version: the store's schema version. */
export const STORE_SCHEMA_VERSION = 1;

/** Pseudo file systems: their "regular files" are no store, and SQLite can block on them. (Devices and FIFOs anywhere are refused as non-regular files.) */
const PSEUDO_ROOTS = ['/proc', '/sys'];

const storeError = (file: string, problem: string, hint: string) => new DplError('E_STORE', `results store ${file}: ${problem}`, hint);

type Inspection =
  { kind: 'missing' } | { kind: 'empty' } | { kind: 'dpl'; version: number; wal: boolean } | { kind: 'legacy'; wal: boolean };

const under = (p: string, root: string) => p === root || p.startsWith(`${root}/`);

/** The nearest existing ancestor's real path joined with the rest (symlinks resolved). */
function realish(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realish(parent), path.basename(abs));
  }
}

/** Tables of a SQLite database opened read-only (the caller made sure nothing gets created). */
function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
}

/**
 * A read-only connection that leaves nothing behind: a rollback-journal file is opened directly;
 * a WAL file is opened directly only while its -wal exists (a writer's, shared), else from a copy
 * in memory with the header set back to rollback mode (the file itself is not touched).
 */
function openReadOnly(file: string, wal: boolean): Database.Database {
  if (!wal || fs.existsSync(`${file}-wal`)) return new Database(file, { readonly: true, fileMustExist: true });
  const image = fs.readFileSync(file);
  image[18] = 1; // file format write/read version: 1 = rollback journal, 2 = WAL
  image[19] = 1;
  return new Database(image, { readonly: true });
}

/** What `file` is, from its header and (read-only) its tables; throws for anything that is not a store. */
function inspectStore(file: string): Inspection {
  const real = realish(file);
  const pseudo = PSEUDO_ROOTS.find((r) => under(real, r));
  if (pseudo) throw storeError(file, `is under ${pseudo}, which holds no files`, 'pass a regular SQLite file with --store');
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    throw storeError(file, `cannot be read (${code})`, 'pass a readable SQLite file with --store');
  }
  if (!st.isFile()) throw storeError(file, 'is not a regular file', 'pass the SQLite file dpl run wrote with --store');
  if (st.size === 0) return { kind: 'empty' };
  const head = Buffer.alloc(100);
  const fd = fs.openSync(file, 'r');
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, 100, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (n < 100 || head.toString('latin1', 0, 16) !== 'SQLite format 3\0')
    throw storeError(
      file,
      'is not a SQLite database (so not a dpl results store); it was left unchanged',
      'pass the file dpl run wrote, or a new file name',
    );
  const appId = head.readUInt32BE(68);
  const version = head.readUInt32BE(60);
  const wal = head[18] === 2;
  if (appId === STORE_APPLICATION_ID) {
    if (version > STORE_SCHEMA_VERSION)
      throw storeError(
        file,
        `has schema version ${version}; this dpl reads up to ${STORE_SCHEMA_VERSION}`,
        'use a newer dpl, or a new --store file',
      );
    return { kind: 'dpl', version, wal };
  }
  if (appId !== 0)
    throw storeError(
      file,
      `is a SQLite database of another application (application id 0x${appId.toString(16)}), not a dpl results store; it was left unchanged`,
      'pass the file dpl run wrote, or a new file name',
    );
  let names: string[];
  const db = openReadOnly(file, wal);
  try {
    names = tables(db);
  } catch (e) {
    throw storeError(
      file,
      `cannot be read as SQLite (${(e as Error).message}); it was left unchanged`,
      'pass the file dpl run wrote, or a new file name',
    );
  } finally {
    db.close();
  }
  if (!names.length) return { kind: 'empty' };
  if (names.includes('cells') && names.includes('meta')) return { kind: 'legacy', wal };
  throw storeError(
    file,
    `is a SQLite database that is not a dpl results store (its tables: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}); it was left unchanged`,
    'pass the file dpl run wrote, or a new file name',
  );
}

/** Opens a store to read: it must exist and be a dpl store (or one from before ids were stamped). */
export function openStoreReadOnly(file: string): Database.Database {
  const what = inspectStore(file);
  if (what.kind === 'missing')
    throw storeError(
      file,
      'does not exist',
      'run `dpl run <suite>` first (e.g. dpl run suites/quick.yaml), or pass the store it wrote with --store',
    );
  if (what.kind === 'empty') throw storeError(file, 'is empty: not a dpl results store', 'pass the file dpl run wrote with --store');
  try {
    return openReadOnly(file, what.wal);
  } catch (e) {
    throw storeError(file, `cannot be opened read-only (${(e as Error).message})`, 'check the file and its folder permissions');
  }
}

/**
 * Opens a store to write (created when missing), stamping the application id and schema version
 * on a new or pre-id store, in WAL mode while open. `init` creates the tables.
 */
export function openStoreForWriting(file: string, init: (db: Database.Database) => void): Database.Database {
  const what = inspectStore(file); // refuses a foreign file before SQLite may write a byte
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 30_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    init(db);
    if (what.kind !== 'dpl') {
      db.pragma(`application_id = ${STORE_APPLICATION_ID}`);
      db.pragma(`user_version = ${STORE_SCHEMA_VERSION}`);
    }
  } catch (e) {
    throw storeError(
      file,
      `cannot be opened for writing (${(e as Error).message})`,
      'pass a writable SQLite file with --store (a new file is created)',
    );
  }
  return db;
}

/** Closes a writer; the last one switches the file back to a rollback journal (see the file comment). */
export function closeWriter(db: Database.Database): void {
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('journal_mode = DELETE'); // fails at once while another connection is open: it stays WAL
  } catch {
    // another process still has the store open; the last one to close switches it
  }
  db.close();
}

/** Whether `file` holds a store to read (false when missing or empty); throws for a file that is not a store. */
export function storeHasData(file: string): boolean {
  const k = inspectStore(file).kind;
  return k === 'dpl' || k === 'legacy';
}
