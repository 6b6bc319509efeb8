import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backbone } from '@dpl/core';
import { dplHome } from '../home';

export const weightsDir = () => path.join(dplHome(), 'weights');

/** The torchvision file's place in the cache. */
export function officialPath(b: Backbone): string | null {
  return b.metadata.weights ? path.join(weightsDir(), b.metadata.weights.file) : null;
}

/** Where `dpl weights import` keeps a checkpoint that is not the official file. */
export const importedPath = (b: Backbone, ext: string) => path.join(weightsDir(), 'imported', `${b.id}${ext}`);

/** The cached file to use for a backbone: the official one, else an imported one. */
export function cachedFile(b: Backbone): string | null {
  const official = officialPath(b);
  if (official && fs.existsSync(official)) return official;
  for (const ext of ['.pth', '.safetensors']) if (fs.existsSync(importedPath(b, ext))) return importedPath(b, ext);
  return null;
}

/** The full SHA-256 recorded when the file was downloaded, imported or verified. */
export function recordedHash(file: string): string | null {
  try {
    const h = fs.readFileSync(`${file}.sha256`, 'utf8').trim();
    return /^[0-9a-f]{64}$/.test(h) ? h : null;
  } catch {
    return null;
  }
}

/** Records a file's full SHA-256 (atomically) once it has been verified; later checks compare against it. */
export function recordHash(file: string, sha256: string): void {
  const tmp = `${file}.sha256.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${sha256}\n`);
  fs.renameSync(tmp, `${file}.sha256`);
}
