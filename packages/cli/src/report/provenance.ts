import * as path from 'node:path';
import type { WeightsProvenance } from '@dpl/core';

const list = (xs: Iterable<string | number>) => [...new Set(xs)].join(', ');

/**
 * How a network's weights were obtained over a set of its cells: 'random (seed 0)',
 * 'random (seeds 0, 1)', 'pretrained vgg16-397923af.pth', or 'mixed: pretrained ...; random (...)'.
 */
export function weightsLabel(provenances: (WeightsProvenance | null)[]): { label: string; random: boolean; pretrained: boolean } {
  const seeds = new Set<number>();
  const files = new Set<string>();
  let unknown = 0;
  for (const p of provenances) {
    if (!p) unknown++;
    else if (p.kind === 'random') seeds.add(p.seed);
    else files.add(path.basename(p.file));
  }
  const parts: string[] = [];
  if (files.size) parts.push(`pretrained ${list([...files].sort())}`);
  if (seeds.size) parts.push(`random (seed${seeds.size > 1 ? 's' : ''} ${list([...seeds].sort((a, b) => a - b))})`);
  if (unknown) parts.push('unrecorded');
  const label = parts.length > 1 ? `mixed: ${parts.join('; ')}` : (parts[0] ?? 'unrecorded');
  return { label, random: seeds.size > 0, pretrained: files.size > 0 };
}

/** A use case's weights in one phrase: 'pretrained', 'random' or 'mixed (2 of 5 networks random)'. */
export function weightsSummary(rows: { random: boolean; pretrained: boolean }[]): string {
  const random = rows.filter((r) => r.random).length;
  const pretrained = rows.filter((r) => r.pretrained).length;
  if (random === 0 && pretrained === rows.length) return 'pretrained';
  if (pretrained === 0 && random === rows.length) return 'random';
  return `mixed (${random} of ${rows.length} networks random)`;
}
