/** Number and label formatting shared by every output format, so they all show the same digits. */
import type { Aggregate, CorrelationRow, Report, UseCaseReport } from './model';
import type { CorrelationTest } from './stats';
import { ATTRIBUTE_LABELS } from './analyse';

/** Four significant digits (one decimal from 1000 up); 'n/a' for missing or non-finite values. */
export function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return x.toFixed(1);
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(2);
  return x.toPrecision(4);
}

const decimals = (s: string) => (/e/.test(s) ? 3 : (s.split('.')[1]?.length ?? 0));

/** `mean ± std` with the std to the mean's decimals; the mean alone with one seed. */
export function meanStd(a: Aggregate | undefined): string {
  if (!a) return '';
  const m = num(a.mean);
  return a.std === null ? m : `${m} ± ${a.std.toFixed(decimals(m))}`;
}

export const rank = (r: number) => (Number.isInteger(r) ? String(r) : r.toFixed(1));
export const meanRank = (r: number) => r.toFixed(2);

export function pValue(t: CorrelationTest | null): string {
  if (!t || !Number.isFinite(t.p)) return 'n/a';
  const p = t.p < 0.001 ? '<0.001' : t.p.toFixed(3);
  return t.exact ? `${p} (exact)` : p;
}

export const coef = (t: CorrelationTest | null) => (t ? t.r.toFixed(3) : 'n/a');

export const attributeLabel = (c: CorrelationRow) => ATTRIBUTE_LABELS[c.attribute];
export const sampleLabel = (c: CorrelationRow) => (c.sample === 'networks' ? 'best point per network' : 'every network x point');

export const direction = (uc: UseCaseReport) => (uc.headline.higherIsBetter ? 'higher is better' : 'lower is better');

/** The provenance line every table carries: weights, backend(s), dpl version(s). */
export function provenanceLine(uc: UseCaseReport): string {
  return `weights: ${uc.weights}; backend: ${uc.backends.join(', ')}; dpl ${uc.dplVersions.join(', ')}`;
}

export function reportProvenanceLine(r: Report): string {
  const kinds = new Set(r.useCases.map((u) => u.weights));
  const weights = kinds.size === 1 ? [...kinds][0] : 'mixed (see each use case)';
  return `weights: ${weights}; backend: ${r.backends.join(', ')}; dpl ${r.dplVersions.join(', ')}`;
}

export function seedsLine(uc: UseCaseReport): string {
  return uc.seeds.length > 1 ? `mean ± sample std over seeds ${uc.seeds.join(', ')}` : `seed ${uc.seeds[0]}`;
}

/** In study mode the columns are E1..E4; this names each network's points. */
export function pointLegend(uc: UseCaseReport): string[] {
  if (uc.columnKind !== 'study') return [];
  return uc.networks.map(
    (n) =>
      `${n.backbone}: ${uc.columns
        .filter((c) => n.cells[c])
        .map((c) => `${c}=${n.cells[c].points.join('+')}`)
        .join(', ')}`,
  );
}

export const bestLabel = (a: Aggregate, uc: UseCaseReport) =>
  uc.columnKind === 'study' ? `${a.column} (${a.points.join('+')})` : a.points.join('+');

export const permutationLine = (r: Report) =>
  `p: two-sided permutation p-value of |coefficient| (every pairing when n! <= ${r.permutations}, marked exact; else ${r.permutations} random pairings, seed ${r.seed}). Spearman's rho and Kendall's tau-b handle ties; n/a below 3 points or for a constant variable.`;
