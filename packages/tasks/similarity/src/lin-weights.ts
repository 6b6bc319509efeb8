/**
 * Reading trained channel weights for evaluation: a checkpoint this task wrote
 * (`lin.<point>.weight` [C], plus `rank.*` and, for tune / scratch, `net.*`), or LPIPS' official
 * v0.1 lin checkpoint (`lin<i>.model.1.weight` [1, C, 1, 1]) through core's LPIPS loader.
 */
import { LPIPS_POINTS, lpipsBackbone, lpipsLinFromStateDict, readWeights, weightsError, type Backbone, type StateDict } from '@dpl/core';
import { linParam } from './model';

export interface LoadedLinWeights {
  weights: Map<string, Float32Array>;
  /** 'dpl' (this task's checkpoint) or 'lpips' (LPIPS' official file). */
  format: 'dpl' | 'lpips';
  /** Whether the file also holds network weights (a tune / scratch checkpoint). */
  hasNetwork: boolean;
}

/** Lin weights for `points` (resolved names) of `backboneId` from `file`; errors name the file and what is wrong. */
export async function readLinWeights(file: string, backboneId: string, points: string[], channels: number[]): Promise<LoadedLinWeights> {
  return linWeightsFrom(await readWeights(file), file, backboneId, points, channels);
}

/**
 * Lin weights from `file` at the points it holds weights for, in `backbone`'s order: LPIPS' points
 * for LPIPS' format, the `lin.<point>.weight` keys for this task's.
 */
export async function readLinWeightsAtTheirPoints(file: string, backbone: Backbone): Promise<LoadedLinWeights & { points: string[] }> {
  const sd = await readWeights(file);
  const keys = [...sd.keys()];
  let points: string[];
  if (keys.some((k) => /^lin\d+\.model\.1\.weight$/.test(k))) {
    points = [...LPIPS_POINTS[lpipsBackbone(backbone.id)].points];
  } else {
    const named = new Set(keys.filter((k) => /^lin\..+\.weight$/.test(k)).map((k) => backbone.point(k.slice(4, -7)).name));
    points = backbone
      .points()
      .map((p) => p.name)
      .filter((n) => named.has(n));
  }
  const channels = points.map((p) => backbone.point(p).channels);
  return { ...linWeightsFrom(sd, file, backbone.id, points, channels), points };
}

function linWeightsFrom(sd: StateDict, file: string, backboneId: string, points: string[], channels: number[]): LoadedLinWeights {
  const keys = [...sd.keys()];
  if (keys.some((k) => k.startsWith('lin.'))) {
    const problems: string[] = [];
    const weights = new Map<string, Float32Array>();
    points.forEach((p, i) => {
      const r = sd.get(linParam(p));
      if (!r) problems.push(`no ${linParam(p)}`);
      else if (r.shape.length !== 1 || r.shape[0] !== channels[i])
        problems.push(`${linParam(p)} has shape [${r.shape.join(', ')}], point '${p}' has ${channels[i]} channels`);
      else weights.set(p, Float32Array.from(r.data));
    });
    const wanted = new Set(points.map(linParam));
    const extra = keys.filter((k) => k.startsWith('lin.') && !wanted.has(k));
    if (extra.length) problems.push(`weights for other points: ${extra.join(', ')}`);
    if (problems.length) {
      throw weightsError(
        file,
        `does not fit ${backboneId} at ${points.join(', ')}: ${problems.join('; ')}`,
        'evaluate with the backbone and points the weights were trained for',
      );
    }
    return { weights, format: 'dpl', hasNetwork: keys.some((k) => k.startsWith('net.')) };
  }
  if (keys.some((k) => /^lin\d+\.model\.1\.weight$/.test(k))) {
    const lp = lpipsLinFromStateDict(sd, backboneId, file);
    const table = LPIPS_POINTS[lp.backbone];
    const same = table.points.length === points.length && table.points.every((p, i) => p === points[i]);
    if (!same) {
      throw weightsError(
        file,
        `holds LPIPS weights for ${lp.backbone} at ${table.points.join(', ')}, but this run compares ${points.join(', ')}`,
        `run with --points ${table.points.join(',')}`,
      );
    }
    return { weights: lp.weights, format: 'lpips', hasNetwork: false };
  }
  throw weightsError(
    file,
    `holds neither this task's lin weights (lin.<point>.weight) nor LPIPS' (lin<i>.model.1.weight); keys: ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''}`,
    "pass a checkpoint written by the similarity task or LPIPS' weights/v0.1/<net>.pth",
  );
}
