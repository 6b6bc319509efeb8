import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { DplError, type ProgressReporter } from '@dpl/core';

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected SHA-256 prefix (hex); a mismatch removes the file. */
  sha256Prefix?: string;
  /** Abort when no byte arrives for this long (ms). */
  idleTimeoutMs?: number;
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

/**
 * Downloads `url` to `dest` through `dest.part`: resumes a partial file with an HTTP Range
 * request, verifies the SHA-256 prefix, and renames atomically. A stalled server aborts after
 * `idleTimeoutMs` and keeps the partial file for the next try. Returns the full SHA-256.
 */
export async function download(o: DownloadOptions): Promise<string> {
  const part = `${o.dest}.part`;
  const hash = crypto.createHash('sha256');
  let have = fs.existsSync(part) ? await hashExisting(part, hash) : 0;
  const ctrl = new AbortController();
  const idle = o.idleTimeoutMs ?? 30000;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctrl.abort(), idle);
  };
  arm();
  let res: Response;
  try {
    res = await fetch(o.url, { headers: have ? { Range: `bytes=${have}-` } : {}, signal: ctrl.signal });
  } catch (e) {
    clearTimeout(timer);
    if (ctrl.signal.aborted) throw downloadError(o.url, `no response within ${idle / 1000}s`, 'check the network or use --mirror URL');
    throw downloadError(
      o.url,
      `cannot connect (${(e as Error).message}${(e as { cause?: Error }).cause ? `: ${(e as { cause: Error }).cause.message}` : ''})`,
      'check the network, or set --mirror / DPL_WEIGHTS_MIRROR',
    );
  }
  if (res.status === 416 && have) {
    // the partial file is already complete (or bigger than the remote file): start over
    clearTimeout(timer);
    fs.rmSync(part, { force: true });
    return download(o);
  }
  if (!res.ok) {
    clearTimeout(timer);
    throw downloadError(
      o.url,
      `HTTP ${res.status} ${res.statusText}`,
      res.status === 404 ? 'the file is not at this address: check --mirror / DPL_WEIGHTS_MIRROR' : 'try again later or use --mirror URL',
    );
  }
  if (have && res.status !== 206) {
    // the server ignored the Range header: restart from zero
    have = 0;
    hash.destroy();
    return restart(o);
  }
  const length = Number(res.headers.get('content-length') ?? 0);
  const total = length ? have + length : 0;
  o.progress?.start(`download ${o.dest.split('/').pop()}`, total || undefined);
  if (have) o.progress?.tick(have);
  const out = fs.createWriteStream(part, { flags: have ? 'a' : 'w' });
  try {
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arm();
      hash.update(value);
      if (!out.write(value)) await new Promise<void>((r) => out.once('drain', () => r()));
      o.progress?.tick(value.length);
    }
  } catch (e) {
    await new Promise((r) => out.end(r));
    if (ctrl.signal.aborted) {
      throw downloadError(
        o.url,
        `stalled: no data for ${idle / 1000}s (partial file kept: ${part})`,
        'run the same command again to resume',
      );
    }
    throw downloadError(o.url, `transfer failed (${(e as Error).message}); partial file kept`, 'run the same command again to resume');
  } finally {
    clearTimeout(timer);
  }
  await new Promise((r, j) => out.end((err?: Error | null) => (err ? j(err) : r(null))));
  o.progress?.done();
  const digest = hash.digest('hex');
  if (o.sha256Prefix && !digest.startsWith(o.sha256Prefix)) {
    fs.rmSync(part, { force: true });
    throw downloadError(
      o.url,
      `SHA-256 mismatch: expected prefix ${o.sha256Prefix}, got ${digest.slice(0, 16)}...; the file was removed`,
      'download again, or check that the mirror serves the original torchvision file',
    );
  }
  fs.renameSync(part, o.dest);
  return digest;
}

function restart(o: DownloadOptions): Promise<string> {
  fs.rmSync(`${o.dest}.part`, { force: true });
  return download(o);
}
