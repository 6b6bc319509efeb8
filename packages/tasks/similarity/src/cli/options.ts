/** `dpl similarity`'s options, checked and resolved before any work (issue: nothing done, nothing written on a usage error). */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  configError,
  DplError,
  inputError,
  LPIPS_POINTS,
  lpipsBackbone,
  lpipsLinFile,
  lpipsLinFileByHash,
  type Backbone,
  type LpipsNet,
  type LpipsVersion,
  type PerceptualNormalization,
  type PerceptualRange,
} from '@dpl/core';
import { readLinWeights, readLinWeightsAtTheirPoints } from '../lin-weights';
import type { Pair } from './pairs';

export interface SimilarityArgs {
  a?: string;
  b?: string;
  lpips?: boolean;
  net?: string;
  version?: string;
  lin?: boolean;
  range?: string;
  map?: string;
  'map-overlay'?: boolean;
  dir0?: string;
  dir1?: string;
  out?: string;
  batch?: number;
  backbone?: string;
  points?: string;
  variant?: string;
  'lin-weights'?: string;
  weights?: string;
  seed?: number;
  normalize?: string;
  size?: number;
  engine?: string;
}

export interface LoadedLin {
  points: string[];
  weights: Map<string, Float32Array>;
  source: string;
  sha256: string;
  /** Whether the file is one of LPIPS' published lin files (by SHA-256). */
  pretrained: boolean;
}

export interface SimilarityPlan {
  lpips: { net: LpipsNet; version: LpipsVersion; lin: boolean } | null;
  backbone: string;
  points?: string;
  normalize: PerceptualNormalization;
  range: PerceptualRange;
  folders: { dir0: string; dir1: string } | null;
  pair: Pair | null;
  out?: string;
  map?: string;
  mapOverlay: boolean;
  batch: number;
  weights?: string;
  loadLin(b: Backbone): Promise<LoadedLin | null>;
}

/** Where `dpl weights pull lpips` keeps LPIPS' lin files. */
export const lpipsCachePath = (home: string, net: LpipsNet, version: LpipsVersion) =>
  path.join(home, 'weights', lpipsLinFile(net, version).cachePath);

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

export function planSimilarity(a: SimilarityArgs, cwd: string, home: string): SimilarityPlan {
  const abs = (f: string) => path.resolve(cwd, f);
  const folders = a.dir0 !== undefined || a.dir1 !== undefined;
  if (folders && (a.a || a.b))
    throw configError(
      'dpl similarity',
      'takes two images or --dir0/--dir1, not both',
      'e.g. dpl similarity a.png b.png, or dpl similarity --dir0 D0 --dir1 D1',
    );
  if (folders && !(a.dir0 && a.dir1)) throw configError('dpl similarity', 'needs both --dir0 and --dir1');
  if (!folders && !(a.a && a.b))
    throw configError('dpl similarity', 'needs two images', 'e.g. dpl similarity a.png b.png (or --dir0 D0 --dir1 D1)');
  if (a.out !== undefined && !folders) throw configError('--out', 'applies to --dir0/--dir1 only');
  if (a.batch !== undefined && !folders) throw configError('--batch', 'applies to --dir0/--dir1 only');
  if (a.batch !== undefined && !(Number.isInteger(a.batch) && a.batch >= 1 && a.batch <= 1024))
    throw configError(`--batch ${a.batch}`, 'must be an integer from 1 to 1024');
  if (a.map !== undefined) {
    if (folders) throw configError('--map', 'applies to two images, not --dir0/--dir1');
    if (!/\.(npy|png)$/i.test(a.map)) throw configError(`--map ${a.map}`, 'must end in .npy (numbers) or .png (heatmap)');
  }
  if (a['map-overlay'] && !(a.map && /\.png$/i.test(a.map))) throw configError('--map-overlay', 'needs --map FILE.png');
  if (a.size !== undefined && !(Number.isInteger(a.size) && a.size >= 1))
    throw configError(`--size ${a.size}`, 'must be a positive integer');
  if (a.seed !== undefined && !(Number.isInteger(a.seed) && a.seed >= 0)) throw configError(`--seed ${a.seed}`, 'must be an integer >= 0');
  const range: PerceptualRange = a.range === '-1,1' ? '[-1,1]' : '[0,1]';
  if (range === '[-1,1]' && !folders && !(a.a!.endsWith('.npy') && a.b!.endsWith('.npy')))
    throw configError(
      '--range -1,1',
      'applies to .npy inputs (images are read in [0,1])',
      'pass .npy files holding values in [-1,1], or drop --range',
    );
  const linFile = a['lin-weights'] && abs(a['lin-weights']);
  const common = {
    range,
    folders: folders ? { dir0: abs(a.dir0!), dir1: abs(a.dir1!) } : null,
    pair: folders ? null : { name: path.basename(a.a!), a: abs(a.a!), b: abs(a.b!) },
    out: a.out && abs(a.out),
    map: a.map && abs(a.map),
    mapOverlay: Boolean(a['map-overlay']),
    batch: a.batch ?? 8,
    weights: a.weights && abs(a.weights),
  };

  if (!a.lpips) {
    for (const k of ['net', 'version', 'lin'] as const)
      if (a[k] !== undefined) throw configError(`--${k === 'lin' ? (a.lin ? 'lin' : 'no-lin') : k}`, 'needs --lpips');
    const variant = a.variant ?? 'baseline';
    if (variant === 'lin' && !linFile)
      throw configError('--variant lin', 'needs --lin-weights FILE', "pass LPIPS' weights/v0.1/<net>.pth or a similarity-task checkpoint");
    if (variant === 'baseline' && linFile) throw configError('--lin-weights', 'needs --variant lin');
    return {
      ...common,
      lpips: null,
      backbone: a.backbone ?? 'vgg16',
      points: a.points,
      normalize: (a.normalize ?? 'imagenet') as PerceptualNormalization,
      loadLin: async (b) => {
        if (!linFile) return null;
        const lin = await readLinWeightsAtTheirPoints(linFile, b);
        return { ...lin, source: linFile, ...hashOf(linFile) };
      },
    };
  }

  // --lpips: the reference's network, layers, scaling and lin weights; the options that would change them are refused
  for (const k of ['backbone', 'points', 'variant', 'normalize'] as const)
    if (a[k] !== undefined)
      throw configError(
        `--${k} with --lpips`,
        'conflicts: --lpips sets the network, layers, variant and input scaling',
        'use --net, --version and --no-lin, or drop --lpips',
      );
  const net = (a.net ?? 'alex') as LpipsNet;
  const version = (a.version ?? '0.1') as LpipsVersion;
  const lin = a.lin !== false;
  if (!lin && linFile) throw configError('--lin-weights with --no-lin', 'conflicts', 'drop one of them');
  const backbone = lpipsBackbone(net);
  let file: string | null = null;
  if (lin) {
    file = linFile || lpipsCachePath(home, net, version);
    if (!fs.existsSync(file)) {
      if (linFile) throw inputError(linFile, 'does not exist', 'check the path');
      throw new DplError(
        'E_NO_WEIGHTS',
        `no LPIPS v${version} lin weights for ${net} (${file})`,
        `run 'dpl weights pull lpips', pass --lin-weights FILE, or --no-lin for the baseline`,
      );
    }
  }
  const table = LPIPS_POINTS[backbone];
  return {
    ...common,
    lpips: { net, version, lin },
    backbone,
    points: table.points.join(','),
    normalize: version === '0.1' ? 'lpips' : 'signed',
    loadLin: async (b) => {
      if (!file) return null;
      const points = [...table.points];
      const w = await readLinWeights(file, b.id, points, [...table.channels]);
      return { points, weights: w.weights, source: file, ...hashOf(file) };
    },
  };
}

function hashOf(file: string): { sha256: string; pretrained: boolean } {
  const h = sha256(file);
  return { sha256: h, pretrained: Boolean(lpipsLinFileByHash(h)) };
}
