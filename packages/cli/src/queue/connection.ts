import { Redis } from 'ioredis';
import { DplError, isDplError } from '@dpl/core';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

/** BullMQ queue of grid cells: keys `dpl:cells:*` in the Redis database of --queue. */
export const QUEUE_NAME = 'cells';
export const QUEUE_PREFIX = 'dpl';

const EXAMPLE = 'e.g. --queue redis://127.0.0.1:6379/0 (redis://[:PASSWORD@]HOST[:PORT][/DB])';

export interface QueueTarget extends RedisTarget {
  /** The URL without its password, for messages. */
  display: string;
}

/** A whole number of milliseconds from the environment (the queue's tuning knobs), else `fallback`. */
export function envMs(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0)
    throw new DplError('E_ARGS', `${name}=${raw}: not a positive whole number of milliseconds`, `unset it or use e.g. ${name}=${fallback}`);
  return v;
}

/** Parses `redis://[user[:password]@]host[:port][/db]`. */
export function parseRedisUrl(url: string): QueueTarget {
  const bad = (problem: string) => new DplError('E_ARGS', `--queue ${url}: ${problem}`, EXAMPLE);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('is not a URL');
  }
  if (u.protocol === 'rediss:') throw bad('TLS (rediss://) is not supported; reach Redis over a private network or an SSH tunnel');
  if (u.protocol !== 'redis:') throw bad(`the scheme must be redis://, not ${u.protocol}//`);
  if (!u.hostname) throw bad('names no host');
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw bad(`the database '${dbText}' is not a whole number >= 0`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  return {
    host,
    port,
    db,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    display: `redis://${u.hostname}:${port}/${db}`,
  };
}

const target = (t: RedisTarget) => ({ host: t.host, port: t.port, db: t.db, username: t.username, password: t.password });

/**
 * An ioredis client for BullMQ (which duplicates it for its blocking connections); lazy: connects
 * on first use. maxRetriesPerRequest null: BullMQ's blocking commands must wait out reconnects.
 */
export const redisClient = (t: QueueTarget, o: { connectionName?: string; lazy?: boolean } = {}): Redis =>
  new Redis({ ...target(t), connectionName: o.connectionName, lazyConnect: o.lazy ?? false, maxRetriesPerRequest: null });

/** Keys of dpl's own beside BullMQ's `dpl:cells:*` (so `obliterate` of the queue leaves them alone). */
export const KEYS = {
  /** HASH cell hash -> JSON PublishedResult: results published by workers, until a coordinator has them. */
  results: `${QUEUE_PREFIX}:results`,
  /** STRING with a TTL per worker: its heartbeat (JSON WorkerBeat). */
  worker: (name: string) => `${QUEUE_PREFIX}:worker:${name}`,
  workerPattern: `${QUEUE_PREFIX}:worker:*`,
  /** HASH suite name -> JSON GridProgress, written by coordinators. */
  grids: `${QUEUE_PREFIX}:grids`,
  /** A BullMQ job's hash and lock (the job id is the cell hash). */
  job: (id: string) => `${QUEUE_PREFIX}:${QUEUE_NAME}:${id}`,
  lock: (id: string) => `${QUEUE_PREFIX}:${QUEUE_NAME}:${id}:lock`,
};

const AUTH_ERROR = /WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH <password> called without/i;

/**
 * Fails fast, with a clear message, when nothing answers at the URL, the password is refused or
 * the database does not exist: the clients BullMQ uses reconnect forever (a worker should survive
 * a Redis restart), so a wrong --queue would hang, and ioredis would quietly stay on database 0.
 * One deadline for the whole check: $DPL_REDIS_CONNECT_TIMEOUT_MS (default 5000).
 */
export async function probeRedis(t: QueueTarget): Promise<void> {
  const ms = envMs('DPL_REDIS_CONNECT_TIMEOUT_MS', 5000);
  // no retries, no offline queue, no ready check: one attempt that fails fast; db 0, SELECTed below
  const c = new Redis({
    ...target(t),
    db: 0,
    connectTimeout: ms,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  let socketError: Error | undefined; // ioredis rejects with 'Connection is closed.'; the cause comes as an event
  c.on('error', (e: Error) => (socketError = e));
  const deadline = Date.now() + ms;
  const timed = <T>(p: Promise<T>) => withTimeout(p, Math.max(1, deadline - Date.now()), `did not answer within ${ms} ms`);
  try {
    await timed(c.connect());
    const version = /redis_version:([\d.]+)/.exec(await timed(c.info('server')))?.[1];
    if (version && Number(version.split('.')[0]) < 6)
      throw new DplError('E_QUEUE', `Redis at ${t.display} is version ${version}`, 'the queue needs Redis 6.2 or newer');
    await timed(c.select(t.db)).catch(async (e: Error) => {
      if (!/out of range|invalid DB index/i.test(e.message)) throw e;
      const n = await timed(c.config('GET', 'databases')).then(
        (r) => Number((r as string[])[1]),
        () => undefined,
      );
      throw new DplError(
        'E_QUEUE',
        `--queue ${t.display}: database ${t.db} does not exist on that server${n ? ` (it has ${n}: 0 to ${n - 1})` : ''}`,
        `use a database index the server has, e.g. redis://${t.host}:${t.port}/0, or raise 'databases' in redis.conf`,
      );
    });
  } catch (e) {
    if (isDplError(e)) throw e;
    const err = (socketError && !AUTH_ERROR.test((e as Error).message) ? socketError : e) as NodeJS.ErrnoException;
    if (AUTH_ERROR.test(err.message ?? '') || AUTH_ERROR.test(socketError?.message ?? ''))
      throw new DplError(
        'E_QUEUE',
        `Redis at ${t.display} refused the login: ${firstLine((AUTH_ERROR.test(err.message) ? err : socketError!).message)}`,
        t.password
          ? 'check the password (and user) in --queue redis://[USER]:PASSWORD@HOST:PORT/DB (percent-encode @ : / in it)'
          : 'that server needs a password: --queue redis://:PASSWORD@HOST:PORT/DB',
      );
    throw new DplError(
      'E_QUEUE',
      `cannot reach Redis at ${t.display}: ${err.code && !err.message.includes(err.code) ? `${err.code} ` : ''}${err.message}`,
      'start redis-server on that machine (listening on an address the others reach: bind, protected-mode), or fix --queue redis://HOST:PORT/DB',
    );
  } finally {
    c.disconnect();
  }
}

const firstLine = (s: string) => s.split('\n')[0];

/** Rejects with `message` when `p` takes longer than `ms` (a port that accepts but never answers). */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
