import * as os from 'node:os';
import type Database from 'better-sqlite3';
import { DplError, type WeightsProvenance } from '@dpl/core';
import { closeWriter, openStoreForWriting, openStoreReadOnly } from './open-store';

/** A grid cell as stored: what to run, identified by the hash of its full resolved config. */
export interface StoredCellSpec {
  hash: string;
  suite: string;
  task: string;
  backbone: string;
  /** Extraction point names (one per cell in the study's grid). */
  points: string[];
  preset: string;
  seed: number;
  /** Everything the cell's result depends on, canonical JSON (task config, data root, weights). */
  config: Record<string, unknown>;
}

export type CellStatus = 'pending' | 'running' | 'done' | 'failed';

export interface StoredCell extends StoredCellSpec {
  status: CellStatus;
  /** `host:pid` of the process running or that ran it. */
  owner: string | null;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
  /** metric name -> value; the headline first. */
  metrics: Record<string, number> | null;
  splits: Record<string, Record<string, number>> | null;
  headline: { metric: string; higherIsBetter: boolean } | null;
  provenance: WeightsProvenance | null;
  backend: string | null;
  dplVersion: string | null;
  error: string | null;
  detail: Record<string, unknown> | null;
}

/** What a finished cell writes. */
export interface CellOutcome {
  metrics: Record<string, number>;
  splits?: Record<string, Record<string, number>>;
  headline: { metric: string; higherIsBetter: boolean };
  provenance: WeightsProvenance;
  backend: string;
  dplVersion: string;
  seconds: number;
  detail?: Record<string, unknown>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cells (
  hash TEXT PRIMARY KEY,
  suite TEXT NOT NULL,
  task TEXT NOT NULL,
  backbone TEXT NOT NULL,
  points TEXT NOT NULL,
  preset TEXT NOT NULL,
  seed INTEGER NOT NULL,
  config TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  owner TEXT,
  heartbeat INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  started_at TEXT,
  finished_at TEXT,
  seconds REAL,
  metrics TEXT,
  splits TEXT,
  headline TEXT,
  provenance TEXT,
  backend TEXT,
  dpl_version TEXT,
  error TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS cells_status ON cells(status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const SCHEMA_VERSION = '1';

type Row = Record<string, unknown>;

/** A row's JSON columns, parsed; a damaged value is named (store, cell, column), not a stack. */
function toCell(r: Row, file: string): StoredCell {
  const json = <T>(v: unknown, column: string): T | null => {
    if (v == null) return null;
    try {
      return JSON.parse(v as string) as T;
    } catch (e) {
      throw new DplError(
        'E_STORE',
        `results store ${file}: cell ${String(r.hash)} has invalid JSON in column ${column} (${(e as Error).message})`,
        `the store is damaged: restore it from a copy, or remove that cell's row and run the suite again to recompute it`,
      );
    }
  };
  return {
    hash: r.hash as string,
    suite: r.suite as string,
    task: r.task as string,
    backbone: r.backbone as string,
    points: json<string[]>(r.points, 'points') ?? [],
    preset: r.preset as string,
    seed: r.seed as number,
    config: json<Record<string, unknown>>(r.config, 'config') ?? {},
    status: r.status as CellStatus,
    owner: (r.owner as string) ?? null,
    attempts: r.attempts as number,
    startedAt: (r.started_at as string) ?? null,
    finishedAt: (r.finished_at as string) ?? null,
    seconds: (r.seconds as number) ?? null,
    metrics: json(r.metrics, 'metrics'),
    splits: json(r.splits, 'splits'),
    headline: json(r.headline, 'headline'),
    provenance: json(r.provenance, 'provenance'),
    backend: (r.backend as string) ?? null,
    dplVersion: (r.dpl_version as string) ?? null,
    error: (r.error as string) ?? null,
    detail: json(r.detail, 'detail'),
  };
}

/** This process's identity as a cell owner. */
export const ownerId = (pid = process.pid) => `${os.hostname()}:${pid}`;

/** Whether the owner of a running cell is certainly gone (same host, process not alive). */
function ownerDead(owner: string | null): boolean {
  if (!owner) return true;
  const i = owner.lastIndexOf(':');
  if (owner.slice(0, i) !== os.hostname()) return false;
  try {
    process.kill(Number(owner.slice(i + 1)), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * The results store: one SQLite file (WAL) that is both the record of finished cells and the
 * work queue of local runners. Claims are transactions, so any number of runner processes on
 * one store never run a cell twice; a cell whose owner died (SIGKILL, crash) is reclaimed.
 */
/** How many of each status. */
export function countStatuses(statuses: Iterable<CellStatus>): Record<CellStatus, number> {
  const out: Record<CellStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const st of statuses) out[st]++;
  return out;
}

export class ResultsStore {
  readonly db: Database.Database;

  readonly readonly: boolean;

  /**
   * Opens (or creates) the store at `file`; with `readonly`, it must exist and nothing is written
   * (see store/open-store.ts: a file that is not a dpl store is refused unchanged).
   */
  constructor(
    readonly file: string,
    opts: { readonly?: boolean } = {},
  ) {
    this.readonly = opts.readonly ?? false;
    this.db = this.readonly ? openStoreReadOnly(file) : openStoreForWriting(file, (db) => db.exec(SCHEMA));
    const v = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined;
    if (!v && !this.readonly) this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
    else if (v && v.value !== SCHEMA_VERSION)
      throw new DplError(
        'E_STORE',
        `the results store ${file} has schema ${v.value}, this dpl writes ${SCHEMA_VERSION}`,
        'use a new --store file',
      );
  }

  close(): void {
    if (this.readonly) this.db.close();
    else closeWriter(this.db);
  }

  /** Adds cells that are not there yet (a cell with the same hash is the same work). Returns how many were new. */
  addCells(cells: StoredCellSpec[]): number {
    const ins = this.db.prepare(
      'INSERT OR IGNORE INTO cells (hash, suite, task, backbone, points, preset, seed, config) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    let n = 0;
    this.db.transaction(() => {
      for (const c of cells)
        n += ins.run(c.hash, c.suite, c.task, c.backbone, JSON.stringify(c.points), c.preset, c.seed, JSON.stringify(c.config)).changes;
    })();
    return n;
  }

  /**
   * Atomically takes the next runnable cell among `hashes` (pending, running under a dead owner,
   * or, with `retryFailedBefore`, failed before that time: a run retries each failure once) for
   * `owner`; undefined when none is left.
   */
  claim(hashes: string[], owner: string, opts: { retryFailedBefore?: string } = {}): StoredCell | undefined {
    const wanted = new Set(hashes);
    const before = opts.retryFailedBefore;
    return this.db
      .transaction(() => {
        const rows = this.db.prepare("SELECT hash, status, owner, finished_at FROM cells WHERE status != 'done' ORDER BY rowid").all() as {
          hash: string;
          status: CellStatus;
          owner: string | null;
          finished_at: string | null;
        }[];
        const pick = rows.find(
          (r) =>
            wanted.has(r.hash) &&
            (r.status === 'pending' ||
              (r.status === 'failed' && before !== undefined && (r.finished_at ?? '') < before) ||
              (r.status === 'running' && ownerDead(r.owner))),
        );
        if (!pick) return undefined;
        this.db
          .prepare(
            "UPDATE cells SET status = 'running', owner = ?, heartbeat = ?, attempts = attempts + 1, started_at = ?, error = NULL WHERE hash = ?",
          )
          .run(owner, Date.now(), new Date().toISOString(), pick.hash);
        return this.get(pick.hash);
      })
      .immediate();
  }

  heartbeat(hash: string, owner: string): void {
    this.db.prepare("UPDATE cells SET heartbeat = ? WHERE hash = ? AND owner = ? AND status = 'running'").run(Date.now(), hash, owner);
  }

  /** Records a finished cell; only its current owner may (a reclaimed cell's late result is dropped). */
  finish(hash: string, owner: string, r: CellOutcome): boolean {
    return (
      this.db
        .prepare(
          `UPDATE cells SET status = 'done', finished_at = ?, seconds = ?, metrics = ?, splits = ?, headline = ?, provenance = ?,
           backend = ?, dpl_version = ?, detail = ?, error = NULL WHERE hash = ? AND owner = ? AND status = 'running'`,
        )
        .run(
          new Date().toISOString(),
          r.seconds,
          JSON.stringify(r.metrics),
          r.splits ? JSON.stringify(r.splits) : null,
          JSON.stringify(r.headline),
          JSON.stringify(r.provenance),
          r.backend,
          r.dplVersion,
          r.detail ? JSON.stringify(r.detail) : null,
          hash,
          owner,
        ).changes === 1
    );
  }

  fail(hash: string, owner: string, error: string, seconds?: number): void {
    this.db
      .prepare(
        "UPDATE cells SET status = 'failed', finished_at = ?, seconds = ?, error = ? WHERE hash = ? AND owner = ? AND status = 'running'",
      )
      .run(new Date().toISOString(), seconds ?? null, error, hash, owner);
  }

  /**
   * Records a result computed elsewhere (a queue worker): done with its outcome, or failed with its
   * error; `attempts` (the runs it took) adds to the cell's earlier ones. A cell already done is
   * never overwritten, so a result collected twice is kept once. Returns whether the cell changed.
   */
  record(
    hash: string,
    owner: string,
    r: CellOutcome | { error: string; seconds?: number },
    at: { attempts: number; startedAt?: string; finishedAt?: string },
  ): boolean {
    const ok = 'error' in r ? null : r;
    return (
      this.db
        .prepare(
          `UPDATE cells SET status = ?, owner = ?, heartbeat = NULL, attempts = attempts + ?, started_at = ?, finished_at = ?, seconds = ?,
           metrics = ?, splits = ?, headline = ?, provenance = ?, backend = ?, dpl_version = ?, detail = ?, error = ?
           WHERE hash = ? AND status != 'done'`,
        )
        .run(
          ok ? 'done' : 'failed',
          owner,
          at.attempts,
          at.startedAt ?? null,
          at.finishedAt ?? new Date().toISOString(),
          r.seconds ?? null,
          ok ? JSON.stringify(ok.metrics) : null,
          ok?.splits ? JSON.stringify(ok.splits) : null,
          ok ? JSON.stringify(ok.headline) : null,
          ok ? JSON.stringify(ok.provenance) : null,
          ok?.backend ?? null,
          ok?.dplVersion ?? null,
          ok?.detail ? JSON.stringify(ok.detail) : null,
          'error' in r ? r.error : null,
          hash,
        ).changes === 1
    );
  }

  /** Puts a cell this owner holds back to pending (a clean stop mid-cell). */
  release(hash: string, owner: string): void {
    this.db
      .prepare(
        "UPDATE cells SET status = 'pending', owner = NULL, attempts = MAX(attempts - 1, 0) WHERE hash = ? AND owner = ? AND status = 'running'",
      )
      .run(hash, owner);
  }

  get(hash: string): StoredCell | undefined {
    const r = this.db.prepare('SELECT * FROM cells WHERE hash = ?').get(hash) as Row | undefined;
    return r && toCell(r, this.file);
  }

  /** Cells, optionally only some hashes or statuses, in insertion order. */
  cells(filter: { hashes?: string[]; status?: CellStatus[] } = {}): StoredCell[] {
    const rows = (this.db.prepare('SELECT * FROM cells ORDER BY rowid').all() as Row[]).map((r) => toCell(r, this.file));
    const hs = filter.hashes && new Set(filter.hashes);
    return rows.filter((c) => (!hs || hs.has(c.hash)) && (!filter.status || filter.status.includes(c.status)));
  }

  /** Status of each cell among `hashes` (all cells when omitted); reads only hash and status. */
  statuses(hashes?: string[]): Map<string, CellStatus> {
    const hs = hashes && new Set(hashes);
    const out = new Map<string, CellStatus>();
    for (const r of this.db.prepare('SELECT hash, status FROM cells').all() as { hash: string; status: CellStatus }[])
      if (!hs || hs.has(r.hash)) out.set(r.hash, r.status);
    return out;
  }

  /** Counts by status among `hashes`. */
  counts(hashes?: string[]): Record<CellStatus, number> {
    return countStatuses(this.statuses(hashes).values());
  }

  /** Mean seconds of finished cells per `task|preset|backbone`, for cost estimates. */
  meanSeconds(): Map<string, number> {
    const rows = this.db
      .prepare("SELECT task, preset, backbone, AVG(seconds) s FROM cells WHERE status = 'done' GROUP BY task, preset, backbone")
      .all() as { task: string; preset: string; backbone: string; s: number }[];
    return new Map(rows.map((r) => [`${r.task}|${r.preset}|${r.backbone}`, r.s]));
  }
}
