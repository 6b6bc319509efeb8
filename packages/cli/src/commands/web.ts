/**
 * `dpl web`: serves @dpl/web's built page on the loopback interface. The page computes in the
 * browser; this server only hands out its files and, read-only, the weight files of the local
 * cache that dpl knows by name (the torchvision checkpoints, imported checkpoints and LPIPS' lin
 * files), so the page can load them without a file dialog. Nothing else on disk is reachable.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { configError, DplError, LPIPS_LIN_FILES, type Registry } from '@dpl/core';
import type { CliContext } from '../context';
import { choiceOption, intOption } from '../options';
import { importedPath, officialPath, weightsDir } from '../weights/cache';

export const DEFAULT_WEB_PORT = 8750;
const HOSTS = ['127.0.0.1', 'localhost', '::1'] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

// no request may leave the machine: every fetch, script, worker and image is the page's own
const HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; style-src 'self'; img-src 'self' blob: data:; connect-src 'self' blob: data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

interface WebArgs {
  port?: number;
  host?: string;
}

export const webCommand = (ctx: CliContext): CommandModule<object, WebArgs> => ({
  command: 'web',
  describe: 'serve the browser page (distance and map of two images, computed in the browser) on 127.0.0.1',
  builder: (y) =>
    y
      .option('port', intOption('port', `port to listen on (default ${DEFAULT_WEB_PORT}; 0 takes a free one)`, { min: 0, max: 65535 }))
      .option('host', choiceOption('host', HOSTS, 'loopback address to listen on (default 127.0.0.1)')) as never,
  handler: async (a) => {
    const dist = pageDir();
    const reg = await ctx.registry();
    const server = createWebServer(dist, () => cachedWeights(reg));
    const host = a.host ?? '127.0.0.1';
    const port = a.port ?? DEFAULT_WEB_PORT;
    await listen(server, port, host);
    const url = `http://${host === '::1' ? '[::1]' : host}:${(server.address() as { port: number }).port}/`;
    ctx.io.out(`dpl web: the page is at ${url} (computed in the browser; Ctrl-C stops the server)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.close(() => resolve());
        server.closeAllConnections();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
});

/** @dpl/web's dist folder; an error says how to build it when it is missing. */
function pageDir(): string {
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('@dpl/web/package.json')), 'dist');
  } catch {
    throw configError('@dpl/web', 'is not installed', 'reinstall dpl (npm install @dpl/cli), which brings the page with it');
  }
  if (!fs.existsSync(path.join(dir, 'index.html')))
    throw configError(`the page (${dir})`, 'is not built', 'run `npm run build` at the repository root');
  return dir;
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const where = `--port ${port} on ${host}`;
      if (e.code === 'EADDRINUSE') reject(configError(where, 'is in use', 'pass another --port, or --port 0 for a free one'));
      else if (e.code === 'EACCES') reject(configError(where, 'is not allowed for this user', 'pass a port above 1023, or --port 0'));
      else if (e.code === 'EADDRNOTAVAIL')
        reject(configError(`--host ${host}`, 'is not an address of this machine', 'use --host 127.0.0.1'));
      else reject(new DplError('E_SERVER', `cannot listen on ${where}: ${e.message}`, 'pass another --port'));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** A file of the weight cache the page may load: its path relative to the cache, size and what it is for. */
export interface CachedWeights {
  path: string;
  bytes: number;
  backbone: string | null;
  lpips: { net: string; version: string } | null;
  abs: string;
}

/** The weight files dpl knows by name that exist in the cache (regular files whose real path lies inside it). */
export function cachedWeights(reg: Registry): CachedWeights[] {
  const root = weightsDir();
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    return [];
  }
  const out: CachedWeights[] = [];
  const add = (abs: string | null, backbone: string | null, lpips: CachedWeights['lpips']) => {
    if (!abs || out.some((o) => o.abs === abs)) return;
    try {
      const real = fs.realpathSync(abs);
      const st = fs.statSync(real);
      if (!st.isFile() || !real.startsWith(realRoot + path.sep)) return;
      out.push({ path: path.relative(root, abs).split(path.sep).join('/'), bytes: st.size, backbone, lpips, abs: real });
    } catch {
      // missing: not listed
    }
  };
  for (const b of reg.backbones()) {
    add(officialPath(b), b.id, null);
    for (const ext of ['.pth', '.safetensors']) add(importedPath(b, ext), b.id, null);
  }
  for (const f of LPIPS_LIN_FILES) add(path.join(root, f.cachePath), null, { net: f.net, version: f.version });
  return out;
}

/** The page's server: dist's files, /api/weights (the cache listing) and /weights/<path> (a listed file). */
export function createWebServer(dist: string, weights: () => CachedWeights[]): http.Server {
  const root = fs.realpathSync(dist);
  return http.createServer((req, res) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { ...HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    // a page elsewhere that rebinds its name to 127.0.0.1 still sends its own Host: refused
    const hostName = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostName)) return send(403, 'dpl web answers loopback names only\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'read-only\n');
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'bad path\n');
    }
    if (pathname.includes('\0')) return send(400, 'bad path\n');
    if (pathname === '/api/weights') {
      const files = weights().map(({ abs: _abs, ...f }) => f);
      return send(200, JSON.stringify({ dir: weightsDir(), files }), 'application/json');
    }
    if (pathname.startsWith('/weights/')) {
      // only a file of the listing, by its exact relative path: nothing else under (or outside) the cache
      const f = weights().find((w) => w.path === pathname.slice('/weights/'.length));
      if (!f) return send(404, 'not a file of the weight cache\n');
      return stream(res, req, f.abs, 'application/octet-stream', send);
    }
    const rel = pathname === '/' ? 'index.html' : pathname.slice(1);
    const file = path.resolve(root, rel);
    if (file !== root && !file.startsWith(root + path.sep)) return send(404, 'not found\n');
    const type = TYPES[path.extname(file).toLowerCase()];
    if (!type) return send(404, 'not found\n');
    return stream(res, req, file, type, send);
  });
}

function stream(
  res: http.ServerResponse,
  req: http.IncomingMessage,
  file: string,
  type: string,
  send: (status: number, body: string) => void,
): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return send(404, 'not found\n');
  }
  if (!st.isFile()) return send(404, 'not found\n');
  res.writeHead(200, { ...HEADERS, 'Content-Type': type, 'Content-Length': st.size, 'Cache-Control': 'no-cache' });
  if (req.method === 'HEAD') return void res.end();
  fs.createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}
