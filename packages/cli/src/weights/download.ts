import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { DplError, type ProgressReporter } from '@dpl/core';

/** The most bytes any download may write when neither the weights table nor the server says how many. */
const MAX_DOWNLOAD_BYTES = 2 * 2 ** 30;
/** Redirects followed before giving up. */
export const MAX_REDIRECTS = 5;
/** Less than this many bytes per second over a whole window is a stall. */
export const MIN_BYTES_PER_SECOND = 1024;

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected SHA-256 prefix (hex, e.g. from a torchvision file name); a mismatch removes the file. */
  sha256Prefix?: string;
  /** Expected full SHA-256 (recorded at an earlier verified download); a mismatch removes the file. */
  sha256?: string;
  /** The file's size when known (the weights table): more or fewer bytes are refused. */
  expectedBytes?: number;
  /** Cap when no size is known at all (default MAX_DOWNLOAD_BYTES). */
  maxBytes?: number;
  /**
   * The stall window (ms): no response within it, or fewer than `minBytesPerSecond` per second
   * over it, aborts the download (a server dripping bytes cannot hold it forever).
   */
  idleTimeoutMs?: number;
  minBytesPerSecond?: number;
  progress?: ProgressReporter;
}

const downloadError = (url: string, problem: string, hint: string) => new DplError('E_DOWNLOAD', `${url}: ${problem}`, hint);

/** Hashes what a partial file already holds, so a resumed download still verifies end to end. */
async function hashExisting(file: string, h: crypto.Hash): Promise<number> {
  let n = 0;
  for await (const chunk of fs.createReadStream(file)) {
    h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return n;
}

/** Thrown inside the transfer when the bytes are refused (not a network failure: nothing is kept). */
class Refused extends Error {}

/** A throughput watchdog: every window, at least `floor` bytes per second must have arrived. */
function stallWatch(windowMs: number, floor: number, abort: () => void) {
  let bytes = 0;
  let stalled = false;
  const timer = setInterval(() => {
    if (bytes < (floor * windowMs) / 1000) {
      stalled = true;
      abort();
    }
    bytes = 0;
  }, windowMs);
  return {
    count: (n: number) => (bytes += n),
    stalled: () => stalled,
    stop: () => clearInterval(timer),
  };
}

/**
 * Follows at most MAX_REDIRECTS redirects by hand (http/https only), naming a loop. Returns the
 * final response and its URL.
 */
async function fetchFollowing(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ res: Response; url: string }> {
  const seen = [url];
  for (;;) {
    const res = await fetch(url, { headers, signal, redirect: 'manual' });
    if (res.status < 300 || res.status >= 400 || res.status === 304) return { res, url };
    await res.body?.cancel();
    const loc = res.headers.get('location');
    if (!loc) throw new Refused(`HTTP ${res.status} redirect without a Location header`);
    const next = new URL(loc, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Refused(`redirected to a ${next.protocol} URL (${next.href})`);
    if (seen.includes(next.href)) throw new Refused(`redirect loop: ${[...seen, next.href].join(' -> ')}`);
    if (seen.length > MAX_REDIRECTS) throw new Refused(`more than ${MAX_REDIRECTS} redirects: ${[...seen, next.href].join(' -> ')}`);
    seen.push(next.href);
    url = next.href;
  }
}

/**
 * Downloads `url` to `dest` through `dest.part` and renames it into place once verified. Bounds:
 * never more bytes than the expected size (the weights table, else Content-Length, else
 * `maxBytes`); a throughput floor over the `idleTimeoutMs` window; at most MAX_REDIRECTS
 * redirects. A connection cut mid-transfer keeps the partial file (the next try resumes it with an
 * HTTP Range request); every other failure (a refused body, a stall, an HTTP error, a hash
 * mismatch) removes it. Returns the full SHA-256.
 */
export async function download(o: DownloadOptions): Promise<string> {
  const part = `${o.dest}.part`;
  const hash = crypto.createHash('sha256');
  let have = fs.existsSync(part) ? await hashExisting(part, hash) : 0;
  if (o.expectedBytes !== undefined && have > o.expectedBytes) {
    fs.rmSync(part, { force: true });
    return download(o);
  }
  const ctrl = new AbortController();
  const window = o.idleTimeoutMs ?? 30000;
  if (!Number.isFinite(window) || window <= 0)
    throw new DplError('E_ARGS', `download timeout ${String(o.idleTimeoutMs)} ms is not a positive number`, 'pass --timeout SECONDS > 0');
  const watch = stallWatch(window, o.minBytesPerSecond ?? MIN_BYTES_PER_SECOND, () => ctrl.abort());
  const removePart = () => fs.rmSync(part, { force: true });
  const fail = (problem: string, hint: string) => {
    removePart();
    return downloadError(o.url, `${problem}; nothing was kept`, hint);
  };
  const stallMessage = `stalled: less than ${o.minBytesPerSecond ?? MIN_BYTES_PER_SECOND} bytes/s over ${window / 1000}s`;
  let res: Response;
  try {
    ({ res } = await fetchFollowing(o.url, have ? { Range: `bytes=${have}-` } : {}, ctrl.signal));
  } catch (e) {
    watch.stop();
    if (e instanceof Refused) throw fail(e.message, 'check --mirror / DPL_WEIGHTS_MIRROR');
    if (watch.stalled()) throw fail(`no response within ${window / 1000}s`, 'check the network, use --mirror URL, or raise --timeout');
    throw downloadError(
      o.url,
      `cannot connect (${(e as Error).message}${(e as { cause?: Error }).cause ? `: ${(e as { cause: Error }).cause.message}` : ''})`,
      'check the network, or set --mirror / DPL_WEIGHTS_MIRROR',
    );
  }
  const cancel = () => res.body?.cancel().catch(() => undefined);
  if (res.status === 416 && have) {
    // the partial file is already complete (or bigger than the remote file): start over
    watch.stop();
    await cancel();
    removePart();
    return download(o);
  }
  if (!res.ok) {
    watch.stop();
    await cancel();
    throw fail(
      `HTTP ${res.status} ${res.statusText}`,
      res.status === 404 ? 'the file is not at this address: check --mirror / DPL_WEIGHTS_MIRROR' : 'try again later or use --mirror URL',
    );
  }
  if (have && res.status !== 206) {
    // the server ignored the Range header: restart from zero
    watch.stop();
    await cancel();
    removePart();
    return download(o);
  }
  const header = res.headers.get('content-length');
  const length = header !== null && /^\d+$/.test(header.trim()) ? Number(header) : undefined;
  if (o.expectedBytes !== undefined && length !== undefined && have + length !== o.expectedBytes) {
    watch.stop();
    await cancel();
    throw fail(
      `the server announces ${have + length} bytes (Content-Length ${length}${have ? ` after ${have} already here` : ''}), the weights table says ${o.expectedBytes}`,
      'the mirror serves a different file: check --mirror / DPL_WEIGHTS_MIRROR',
    );
  }
  const limit = o.expectedBytes ?? (length !== undefined ? have + length : (o.maxBytes ?? MAX_DOWNLOAD_BYTES));
  o.progress?.start(`download ${o.dest.split('/').pop()}`, length !== undefined || o.expectedBytes ? limit : undefined);
  if (have) o.progress?.tick(have);
  const out = fs.createWriteStream(part, { flags: have ? 'a' : 'w' });
  const closeOut = () => new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
  try {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      watch.count(value.length);
      if (have + value.length > limit) {
        await reader.cancel().catch(() => undefined);
        throw new Refused(
          `the server sent more than the expected ${limit} bytes (${o.expectedBytes !== undefined ? 'the weights table' : length !== undefined ? 'its Content-Length' : 'the download cap'}); refused`,
        );
      }
      hash.update(value);
      have += value.length;
      if (!out.write(value)) await new Promise<void>((r) => out.once('drain', () => r()));
      o.progress?.tick(value.length);
    }
  } catch (e) {
    await closeOut().catch(() => undefined);
    if (e instanceof Refused) throw fail(e.message, 'the mirror serves a different file: check --mirror / DPL_WEIGHTS_MIRROR');
    if (watch.stalled()) throw fail(stallMessage, 'check the network, use --mirror URL, or raise --timeout');
    throw downloadError(
      o.url,
      `transfer failed (${(e as Error).message}); partial file kept (${have} bytes: ${part})`,
      'run the same command again to resume',
    );
  } finally {
    watch.stop();
  }
  await closeOut();
  o.progress?.done();
  if (have < limit && (o.expectedBytes !== undefined || length !== undefined)) {
    throw fail(`the server sent ${have} bytes, ${limit} were expected`, 'try again later or use --mirror URL');
  }
  const digest = hash.digest('hex');
  if (o.sha256 && digest !== o.sha256) {
    throw fail(
      `SHA-256 mismatch: expected ${o.sha256.slice(0, 16)}... (recorded at the first download), got ${digest.slice(0, 16)}...`,
      'check that the mirror serves the original torchvision file',
    );
  }
  if (o.sha256Prefix && !digest.startsWith(o.sha256Prefix)) {
    throw fail(
      `SHA-256 mismatch: expected prefix ${o.sha256Prefix}, got ${digest.slice(0, 16)}...`,
      'download again, or check that the mirror serves the original torchvision file',
    );
  }
  fs.renameSync(part, o.dest);
  return digest;
}
