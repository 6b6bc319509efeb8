import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DplError, expectBackbone, readWeights, type Backbone, type BuildOptions } from '@dpl/core';
import { cachedFile, recordedHash, weightsDir } from './weights/cache';

/** SHA-256 of a file, streamed (checkpoints are hundreds of MB). */
export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Build options from `--weights FILE`, `--seed N`, or the weight cache, in that order. Without
 * any of them it is an error: random weights must be asked for.
 */
export async function resolveWeights(b: Backbone, weights?: string, seed?: number): Promise<BuildOptions> {
  if (weights) {
    const sd = await readWeights(weights, { expect: expectBackbone(b, weights) }); // keys and shapes before data
    return { weights: sd, weightsSource: { file: path.resolve(weights), sha256: await sha256File(weights) } };
  }
  if (seed !== undefined) return { seed };
  const cached = cachedFile(b);
  if (cached) {
    // the cached file must still be the one verified at its download or import
    const sha256 = await sha256File(cached);
    const rec = recordedHash(cached);
    if (rec && rec !== sha256)
      throw new DplError(
        'E_WEIGHTS_DAMAGED',
        `${cached}: the cached weights changed since they were verified (SHA-256 ${sha256.slice(0, 16)}..., recorded ${rec.slice(0, 16)}...)`,
        `remove it and run 'dpl weights pull ${b.id}' (or import the file again)`,
      );
    return { weights: await readWeights(cached, { expect: expectBackbone(b, cached) }), weightsSource: { file: cached, sha256 } };
  }
  throw new DplError(
    'E_NO_WEIGHTS',
    `no weights for ${b.id}: none given and none in the cache (${weightsDir()})`,
    `pass --weights FILE, run 'dpl weights pull ${b.id}', or pass --seed N for seeded random weights`,
  );
}
