/**
 * LPIPS' linear-layer files in the weight cache: `dpl weights pull lpips` downloads the six
 * official files (core's LPIPS_LIN_FILES: v0.1 and v0.0 of alex, vgg, squeeze) and checks each
 * one's full SHA-256 and size; `dpl weights import FILE --backbone lpips` takes a local copy when
 * its hash is one of them. `dpl similarity --lpips` reads them from here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DplError, LPIPS_LIN_FILES, LPIPS_REPO_URL, lpipsLinFileByHash, type LpipsLinFile, type ProgressReporter } from '@dpl/core';
import { sha256File } from '../weights-source';
import { recordedHash, recordHash, weightsDir } from './cache';
import { download } from './download';

export const LPIPS_TARGET = 'lpips';

export const lpipsCachePath = (f: LpipsLinFile) => path.join(weightsDir(), f.cachePath);

export interface LpipsPullResult {
  backbone: string;
  file: string;
  sha256: string;
  skipped: boolean;
}

export interface LpipsPullOptions {
  /** Base URL serving the repository's files (lpips/weights/v<version>/<net>.pth under it). */
  mirror?: string;
  idleTimeoutMs: number;
  progress?: () => ProgressReporter;
  log?: (line: string) => void;
  /** The files to fetch (default: the official table; tests pass their own). */
  files?: readonly LpipsLinFile[];
}

/** Downloads every LPIPS lin file not yet cached with its recorded hash. */
export async function pullLpips(o: LpipsPullOptions): Promise<LpipsPullResult[]> {
  const out: LpipsPullResult[] = [];
  for (const f of o.files ?? LPIPS_LIN_FILES) {
    const dest = lpipsCachePath(f);
    const label = `lpips v${f.version} ${f.net}`;
    if (fs.existsSync(dest) && recordedHash(dest) === f.sha256 && (await sha256File(dest)) === f.sha256) {
      out.push({ backbone: label, file: dest, sha256: f.sha256, skipped: true });
      o.log?.(`${label}: already cached (${dest})`);
      continue;
    }
    fs.rmSync(dest, { force: true });
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const base = (o.mirror ?? LPIPS_REPO_URL).replace(/\/$/, '');
    const sha256 = await download({
      url: `${base}/${f.path}`,
      dest,
      sha256: f.sha256,
      expectedBytes: f.bytes,
      idleTimeoutMs: o.idleTimeoutMs,
      progress: o.progress?.(),
    });
    recordHash(dest, sha256);
    out.push({ backbone: label, file: dest, sha256, skipped: false });
    o.log?.(`${label}: ${dest} (sha256 ${sha256.slice(0, 16)}..., verified)`);
  }
  return out;
}

/** Copies a local LPIPS lin file into the cache when its SHA-256 is one of the official files'. */
export async function importLpips(src: string): Promise<{ file: string; sha256: string; net: string; version: string }> {
  const sha256 = await sha256File(src);
  const f = lpipsLinFileByHash(sha256);
  if (!f)
    throw new DplError(
      'E_WEIGHTS',
      `${src}: is not one of LPIPS' published lin files (sha256 ${sha256.slice(0, 16)}...)`,
      `import lpips/weights/v0.1|v0.0/<alex|vgg|squeeze>.pth of richzhang/PerceptualSimilarity, or pass your file with dpl similarity --lin-weights FILE`,
    );
  const dest = lpipsCachePath(f);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(src, `${dest}.part`);
  fs.renameSync(`${dest}.part`, dest);
  recordHash(dest, sha256);
  return { file: dest, sha256, net: f.net, version: f.version };
}
