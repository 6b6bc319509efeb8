import * as fs from 'node:fs';
import * as path from 'node:path';
import { DplError, defaultOnnxCacheDir, expectBackbone, readWeights, verifyOnnxCache, type Backbone } from '@dpl/core';
import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../context';
import { table } from '../io';
import { makeProgress } from '../progress';
import { cachedFile, importedPath, officialPath, recordedHash, recordHash, weightsDir } from '../weights/cache';
import { download, MIN_BYTES_PER_SECOND } from '../weights/download';
import { importLpips, LPIPS_TARGET, pullLpips } from '../weights/lpips';
import { sha256File } from '../weights-source';

/** Backbone ids from the command line; `paper` means the 14 study networks. */
async function pick(ctx: CliContext, ids: string[] | undefined): Promise<Backbone[]> {
  const reg = await ctx.registry();
  if (!ids?.length) return reg.backbones();
  const out: Backbone[] = [];
  for (const id of ids.flatMap((s) => s.split(','))) {
    const add = id === 'paper' ? reg.backbones().filter((b) => b.metadata.inStudy) : [reg.backbone(id)];
    for (const b of add) if (!out.includes(b)) out.push(b);
  }
  return out;
}

const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);

async function list(ctx: CliContext) {
  const rows = (await pick(ctx, undefined)).map((b) => {
    const file = cachedFile(b);
    const want = b.metadata.weights?.sha256Prefix;
    const rec = file ? recordedHash(file) : null;
    // quick: compares the recorded full hash with the name's prefix; `dpl weights verify` re-hashes
    return {
      backbone: b.id,
      file: file ?? officialPath(b),
      cached: Boolean(file),
      bytes: file ? size(file) : 0,
      verified: Boolean(file && rec && (!want || file !== officialPath(b) || rec.startsWith(want))),
      official: file !== null && file === officialPath(b),
    };
  });
  if (ctx.args.json) return ctx.json({ cache: weightsDir(), weights: rows });
  ctx.io.out(`weight cache: ${weightsDir()}`);
  ctx.io.out(
    table(
      rows.map((r) => [
        r.backbone,
        r.cached ? 'yes' : '-',
        r.cached ? `${(r.bytes / 2 ** 20).toFixed(1)} MiB` : '',
        r.verified ? 'yes' : r.cached ? 'NO' : '',
        r.file ?? '(no known file)',
      ]),
      ['backbone', 'cached', 'size', 'verified', 'file'],
    ),
  );
}

async function pull(ctx: CliContext, ids: string[], mirror: string | undefined, timeout: number) {
  fs.mkdirSync(weightsDir(), { recursive: true });
  const results: { backbone: string; file: string; sha256: string; skipped: boolean }[] = [];
  if (ids.includes(LPIPS_TARGET)) {
    const log = ctx.args.json ? undefined : (l: string) => ctx.io.out(l);
    results.push(...(await pullLpips({ mirror, idleTimeoutMs: timeout * 1000, progress: () => ctx.progress(), log })));
    ids = ids.filter((id) => id !== LPIPS_TARGET);
  }
  for (const b of ids.length ? await pick(ctx, ids) : []) {
    const w = b.metadata.weights;
    if (!w)
      throw new DplError(
        'E_NO_URL',
        `${b.id} has no known weight file to download`,
        `import one with 'dpl weights import FILE --backbone ${b.id}'`,
      );
    const dest = officialPath(b) as string;
    const rec = recordedHash(dest);
    if (fs.existsSync(dest) && rec?.startsWith(w.sha256Prefix)) {
      // a cached file is checked against the full hash recorded at its first verified download
      if ((await sha256File(dest)) === rec) {
        results.push({ backbone: b.id, file: dest, sha256: rec, skipped: true });
        if (!ctx.args.json) ctx.io.out(`${b.id}: already cached (${dest})`);
        continue;
      }
      ctx.io.err(`${b.id}: the cached ${dest} no longer matches its recorded SHA-256; downloading it again`);
      fs.rmSync(dest, { force: true });
    }
    const base = mirror ?? process.env.DPL_WEIGHTS_MIRROR;
    const url = base ? `${base.replace(/\/$/, '')}/${w.file}` : w.url;
    const sha256 = await download({
      url,
      dest,
      sha256Prefix: w.sha256Prefix,
      sha256: rec ?? undefined,
      expectedBytes: w.bytes,
      idleTimeoutMs: timeout * 1000,
      progress: ctx.args.json ? undefined : makeProgress(ctx.io),
    });
    recordHash(dest, sha256);
    results.push({ backbone: b.id, file: dest, sha256, skipped: false });
    if (!ctx.args.json) ctx.io.out(`${b.id}: ${dest} (sha256 ${sha256.slice(0, 16)}..., verified)`);
  }
  if (ctx.args.json) ctx.json(results);
}

async function importFile(ctx: CliContext, file: string, id: string) {
  const b = (await ctx.registry()).backbone(id);
  const src = path.resolve(ctx.io.cwd, file);
  // keys and shapes are checked from the header, before any tensor data is read; nothing is stored on failure
  b.prepareWeights(await readWeights(src, { expect: expectBackbone(b, src) }), src);
  const sha256 = await sha256File(src);
  const official = officialPath(b);
  const dest =
    official && b.metadata.weights && sha256.startsWith(b.metadata.weights.sha256Prefix)
      ? official
      : importedPath(b, path.extname(src) === '.safetensors' ? '.safetensors' : '.pth');
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(src, `${dest}.part`);
  fs.renameSync(`${dest}.part`, dest);
  recordHash(dest, sha256);
  if (ctx.args.json) return ctx.json({ backbone: b.id, file: dest, sha256, official: dest === official });
  ctx.io.out(`${b.id}: imported ${src} -> ${dest}${dest === official ? ' (the official torchvision file)' : ''}`);
}

/**
 * Why a cached weight file cannot be trusted, or null. It must match the full SHA-256 recorded at
 * its first verified download or import (and, for the official file, the prefix in its name); an
 * official file with no record yet is checked by its prefix and then recorded.
 */
async function weightProblem(b: Backbone, file: string): Promise<string | null> {
  const sha = await sha256File(file);
  const prefix = file === officialPath(b) ? b.metadata.weights?.sha256Prefix : undefined;
  const rec = recordedHash(file);
  if (rec && sha !== rec) return `sha256 ${sha.slice(0, 16)}... does not match the recorded ${rec.slice(0, 16)}...`;
  if (prefix && !sha.startsWith(prefix)) return `sha256 ${sha.slice(0, 16)}... does not start with ${prefix}`;
  if (!rec && !prefix) return 'no recorded SHA-256 (import it again)';
  if (!rec) recordHash(file, sha);
  return null;
}

async function verify(ctx: CliContext, ids: string[] | undefined) {
  const rows: { kind: 'weights' | 'onnx'; backbone: string; file: string; ok: boolean; problem?: string }[] = [];
  const picked = await pick(ctx, ids);
  for (const b of picked) {
    const file = cachedFile(b);
    if (!file) continue;
    const problem = await weightProblem(b, file);
    rows.push({ kind: 'weights', backbone: b.id, file, ok: !problem, ...(problem ? { problem } : {}) });
  }
  const onnxDir = defaultOnnxCacheDir();
  for (const m of verifyOnnxCache(onnxDir)) {
    if (ids && !picked.some((b) => b.id === m.backbone)) continue;
    rows.push({ kind: 'onnx', ...m, backbone: m.backbone ?? '?' });
  }
  if (ctx.args.json) ctx.json(rows);
  else {
    if (!rows.length) ctx.io.out(`nothing cached in ${weightsDir()} or ${onnxDir}`);
    for (const r of rows) {
      const fix = r.kind === 'onnx' ? 'it will be exported again when next used' : 'remove it and pull again';
      ctx.io.out(`${r.ok ? 'ok ' : 'BAD'} ${r.backbone}  ${r.file}${r.problem ? `  (${r.problem}; ${fix})` : ''}`);
    }
  }
  const bad = rows.filter((r) => !r.ok);
  if (bad.length)
    throw new DplError(
      'E_VERIFY',
      `${bad.length} cached file(s) failed verification: ${bad.map((r) => r.file).join(', ')}`,
      'delete the weight files and run dpl weights pull again (damaged ONNX models are exported again on their next use)',
    );
}

export const weightsCommand = (ctx: CliContext): CommandModule => ({
  command: 'weights <action> [names..]',
  describe: 'the weight cache: list | pull <backbone..|paper|lpips> | import <file> --backbone id|lpips | verify',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['list', 'pull', 'import', 'verify'] as const })
      .option('mirror', { type: 'string', describe: 'base URL serving the torchvision files (env DPL_WEIGHTS_MIRROR)' })
      .option('timeout', {
        type: 'number',
        default: 30,
        describe: `the stall window in seconds: a download receiving less than ${MIN_BYTES_PER_SECOND} bytes/s over it is abandoned`,
      })
      .option('backbone', { type: 'string', describe: 'import: the backbone the file is for' })
      .positional('names', { type: 'string', array: true, describe: 'pull/verify: backbones or paper; import: the file' }),
  handler: async (a) => {
    const rest = ((a.names as (string | number)[] | undefined) ?? []).map(String);
    switch (a.action) {
      case 'list':
        return list(ctx);
      case 'pull':
        if (!rest.length)
          throw new DplError(
            'E_ARGS',
            'weights pull: name backbones or paper',
            'e.g. dpl weights pull vgg16 resnet50, or dpl weights pull paper',
          );
        return pull(ctx, rest, a.mirror as string | undefined, a.timeout as number);
      case 'import':
        if (rest.length !== 1 || !a.backbone)
          throw new DplError(
            'E_ARGS',
            'weights import: give one file and --backbone',
            'e.g. dpl weights import vgg16.pth --backbone vgg16',
          );
        if (a.backbone === LPIPS_TARGET) {
          const r = await importLpips(path.resolve(ctx.io.cwd, rest[0]));
          return ctx.args.json ? ctx.json(r) : ctx.io.out(`lpips v${r.version} ${r.net}: imported -> ${r.file}`);
        }
        return importFile(ctx, rest[0], a.backbone as string);
      case 'verify':
        return verify(ctx, rest.length ? rest : undefined);
    }
  },
});
