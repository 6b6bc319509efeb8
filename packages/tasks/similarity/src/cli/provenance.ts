import type { Backbone, WeightsProvenance } from '@dpl/core';

/**
 * What the loss network's weights were, for outputs: 'pretrained' only when the file's SHA-256
 * is that of the backbone's published file (its full hash when the weights table has one, else its
 * file-name prefix); any other file is 'file' with its hash; seeded weights are 'random'.
 */
export type WeightsRecord =
  | { kind: 'pretrained'; file: string; sha256: string }
  | { kind: 'file'; file: string; sha256: string | null }
  | { kind: 'random'; seed: number };

export function weightsRecord(p: WeightsProvenance, b: Backbone): WeightsRecord {
  if (p.kind === 'random') return { kind: 'random', seed: p.seed };
  const known = b.metadata.weights as { sha256?: string; sha256Prefix: string } | undefined;
  const sha = p.sha256 ?? null;
  const pretrained = Boolean(sha && known && (known.sha256 ? sha === known.sha256 : sha.startsWith(known.sha256Prefix)));
  return pretrained ? { kind: 'pretrained', file: p.file, sha256: sha! } : { kind: 'file', file: p.file, sha256: sha };
}
