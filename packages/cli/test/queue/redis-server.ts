import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

/** Debian's redis-server; the queue tests skip (saying so) without it. */
export const REDIS_SERVER = '/usr/bin/redis-server';
export const hasRedis = fs.existsSync(REDIS_SERVER);
export const noRedisReason = `${REDIS_SERVER} is missing (apt-get install -y redis-server)`;

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url(db?: number): string;
  stop(): Promise<void>;
  /** SHUTDOWN (the AOF is written), then the same server again on the same port from its files. */
  restart(): Promise<void>;
  /** SHUTDOWN; `start()` brings it back from its files. */
  shutdown(): Promise<void>;
  start(): Promise<void>;
}

/**
 * Starts a throwaway redis-server on 127.0.0.1 and waits until it accepts connections. Without
 * `dir`: no persistence; with it: AOF (fsync always) in that folder, so it can be restarted with its data.
 */
export async function startRedis(o: { port?: number; dir?: string; args?: string[] } = {}): Promise<RedisServer> {
  const p = o.port ?? (await freePort());
  const persistence = o.dir
    ? ['--dir', o.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
    : ['--save', '', '--appendonly', 'no'];
  let proc: ChildProcess | undefined;
  const start = async () => {
    const child = spawn(REDIS_SERVER, [...persistence, '--port', String(p), '--bind', '127.0.0.1', ...(o.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`redis-server did not start on port ${p}: ${log}`)), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        log += d.toString();
        if (/Ready to accept connections/.test(log)) {
          clearTimeout(t);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`redis-server exited (${code}): ${log}`));
      });
    });
    child.removeAllListeners('exit');
    proc = child;
  };
  const end = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const c = proc;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  await start();
  return {
    port: p,
    url: (db = 0) => `redis://127.0.0.1:${p}/${db}`,
    stop: () => end('SIGKILL'),
    shutdown: () => end('SIGTERM'), // redis-server's SIGTERM: SHUTDOWN, AOF flushed
    start,
    restart: async () => {
      await end('SIGTERM');
      await start();
    },
  };
}

/** A TCP server that accepts connections and never answers: a Redis URL "that does not answer". */
export function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    srv.listen(0, '127.0.0.1', () =>
      resolve({
        port: (srv.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            srv.close(() => r());
          }),
      }),
    );
  });
}
