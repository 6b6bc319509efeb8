/**
 * The LPIPS-style perceptual distance (Zhang et al. 2018; docs/PROTOCOL.md section 3): for each point,
 * unit-normalise the features over channels, take the squared difference, sum the channels
 * (`baseline`) or weight them with non-negative per-channel weights (`lin`, a 1x1 conv without
 * bias), average over space; then add the points up, optionally weighted.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExtractionPoint, FeatureExtractor, WeightsProvenance } from '../contracts/backbone';
import type { BatchNormMode } from '../graph/executor';
import { backendName } from '../backend';
import { configError, inputError } from '../errors';
import { checkInputSpec, describeInputSpec, prepareInput, type PerceptualInputSpec, type PerceptualResize } from './input';
import { UNIT_NORM_EPS, unitNormalize } from './unit-normalize';
import { resizeBilinear } from './bilinear';

/** 'baseline' (unit-normalised features, equal channel weights) or 'lin' (LPIPS's learned channel weights). */
export type DistanceVariant = 'baseline' | 'lin';

/** Unit-normalised NHWC features per point name, from PerceptualDistance.features. */
export type PerceptualFeatures = Map<string, tf.Tensor4D>;

/** Options of PerceptualDistance: points and their weights, variant, input range and normalisation. */
export interface PerceptualDistanceOptions {
  /** The frozen loss network; the caller keeps ownership (dispose() does not dispose it). */
  extractor: FeatureExtractor;
  /** Point names, aliases or study indices of the extractor's backbone. */
  points: string[];
  input: PerceptualInputSpec;
  variant: DistanceVariant;
  /** 'lin' only: non-negative channel weights per point (keyed by point name or by the name as given). */
  linWeights?: Map<string, Float32Array>;
  /** Where linWeights came from, for describe() (e.g. the checkpoint path). */
  linSource?: string;
  /** One weight per point (default 1 each): the distance is sum_l w_l d_l. */
  pointWeights?: number[];
  /**
   * 'mean' (default) or 'map'. Both modes give compute() per-sample scalars and spatialMaps()
   * per-location maps; the choice is recorded in describe() for the caller's output.
   */
  spatial?: 'mean' | 'map';
  /** BatchNorm statistics of the loss network (default 'eval'). */
  batchNorm?: BatchNormMode;
}

/** Everything needed to say which distance produced a number. */
export interface PerceptualDistanceRecord {
  kind: 'perceptual-distance';
  formula: string;
  backbone: string;
  points: string[];
  pointWeights: number[];
  variant: DistanceVariant;
  linWeights: { source: string } | null;
  input: { range: string; normalize: string; resize: PerceptualResize | null; validate: boolean };
  spatial: 'mean' | 'map';
  batchNorm: BatchNormMode;
  weights: WeightsProvenance;
  backend: string;
}

/** Spatial distance maps, per point and combined. */
export interface PerceptualMaps {
  /** Per point [N, h_l, w_l, 1]: the (weighted) channel sum before the spatial mean, unweighted by point. */
  points: Map<string, tf.Tensor4D>;
  /** [N, H, W, 1] at the network input size: sum_l w_l * bilinear upsampling of each point's map (LPIPS spatial=True). */
  combined: tf.Tensor4D;
}

/** A perceptual distance (LPIPS-style) between image batches on a frozen loss network. */
export class PerceptualDistance {
  readonly extractor: FeatureExtractor;
  /** Resolved point names, in the order given. */
  readonly points: string[];
  readonly pointWeights: number[];
  readonly variant: DistanceVariant;
  readonly input: PerceptualInputSpec;
  readonly spatial: 'mean' | 'map';
  readonly batchNorm: BatchNormMode;
  private readonly lin: Map<string, tf.Tensor1D> | null;
  private readonly linSource: string | null;
  private disposed = false;

  constructor(opts: PerceptualDistanceOptions) {
    this.extractor = opts.extractor;
    checkInputSpec(opts.input);
    this.input = { ...opts.input };
    const resolved = resolveUnique(opts.extractor, opts.points);
    this.points = resolved.map((p) => p.name);
    this.pointWeights = checkPointWeights(opts.pointWeights, this.points.length);
    if (opts.variant !== 'baseline' && opts.variant !== 'lin') {
      throw configError(`distance variant '${opts.variant}'`, 'is not known', "use 'baseline' or 'lin'");
    }
    this.variant = opts.variant;
    this.spatial = opts.spatial ?? 'mean';
    if (this.spatial !== 'mean' && this.spatial !== 'map') {
      throw configError(`spatial '${this.spatial}'`, 'is not known', "use 'mean' or 'map'");
    }
    this.batchNorm = opts.batchNorm ?? 'eval';
    if (opts.variant === 'lin') {
      if (!opts.linWeights)
        throw configError("variant 'lin'", 'needs linWeights', "pass linWeights (e.g. from loadLpipsLinWeights) or use variant 'baseline'");
      const checked = checkLinWeights(opts.linWeights, resolved, opts.points);
      this.lin = new Map([...checked].map(([k, v]) => [k, tf.keep(tf.tensor1d(v))]));
      this.linSource = opts.linSource ?? 'given';
    } else {
      if (opts.linWeights)
        throw configError("linWeights with variant 'baseline'", 'would be ignored', "use variant 'lin' or drop linWeights");
      this.lin = null;
      this.linSource = null;
    }
  }

  /** Unit-normalised features of `x` at every point: one forward pass. The caller disposes them. */
  features(x: tf.Tensor4D): PerceptualFeatures {
    this.assertLive();
    const net = prepareInput(x, this.input);
    try {
      const raw = this.extractor.extract(net, this.points, { batchNorm: this.batchNorm });
      const out: PerceptualFeatures = new Map();
      for (const p of this.points) {
        const f = raw.get(p)!;
        out.set(p, unitNormalize(f));
        f.dispose();
      }
      return out;
    } finally {
      net.dispose();
    }
  }

  /** Per-sample distances [N] between `a` and `b` (same shape). Differentiable w.r.t. both. */
  compute(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D {
    checkPair(a, b);
    return tf.tidy(() => this.fromFeatures(this.features(a), this.features(b)));
  }

  /**
   * Per-sample distances between precomputed reference features (from features()) and `b`:
   * 2AFC reuses the reference's features for both p0 and p1. `ref` is not disposed.
   */
  computeWithReference(ref: PerceptualFeatures, b: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => this.fromFeatures(ref, this.features(b)));
  }

  /** Per-sample distances [N] from two sets of unit-normalised features. */
  fromFeatures(fa: PerceptualFeatures, fb: PerceptualFeatures): tf.Tensor1D {
    return tf.tidy(() => {
      const maps = this.pointMaps(fa, fb);
      let total: tf.Tensor1D | null = null;
      this.points.forEach((p, i) => {
        const d = tf.mul(tf.mean(maps.get(p)!, [1, 2, 3]), this.pointWeights[i]) as tf.Tensor1D;
        total = total ? (tf.add(total, d) as tf.Tensor1D) : d;
      });
      return total!;
    });
  }

  /** Per-point distances [N] (before point weights) from two sets of unit-normalised features. */
  perPointFromFeatures(fa: PerceptualFeatures, fb: PerceptualFeatures): Map<string, tf.Tensor1D> {
    const means = tf.tidy(() => [...this.pointMaps(fa, fb).values()].map((m) => tf.mean(m, [1, 2, 3]) as tf.Tensor1D));
    return new Map(this.points.map((p, i) => [p, means[i]]));
  }

  /** Per point [N, h_l, w_l, 1], before the spatial mean and point weights. The caller disposes them. */
  perPointMaps(fa: PerceptualFeatures, fb: PerceptualFeatures): Map<string, tf.Tensor4D> {
    const maps = tf.tidy(() => [...this.pointMaps(fa, fb).values()]);
    return new Map(this.points.map((p, i) => [p, maps[i]]));
  }

  /** Per-point and combined spatial distance maps (LPIPS spatial=True). The caller disposes them. */
  spatialMaps(a: tf.Tensor4D, b: tf.Tensor4D): PerceptualMaps {
    checkPair(a, b);
    const r = this.input.resize;
    const size: [number, number] = r ? [r.height, r.width] : [a.shape[1], a.shape[2]];
    const fa = this.features(a);
    try {
      const fb = this.features(b);
      try {
        return this.spatialMapsFromFeatures(fa, fb, size);
      } finally {
        for (const t of fb.values()) t.dispose();
      }
    } finally {
      for (const t of fa.values()) t.dispose();
    }
  }

  /** spatialMaps from features; `size` is the network input's [height, width] (the combined map's size). */
  spatialMapsFromFeatures(fa: PerceptualFeatures, fb: PerceptualFeatures, size: [number, number]): PerceptualMaps {
    const points = tf.tidy(() => [...this.pointMaps(fa, fb).values()]);
    const combined = tf.tidy(() => {
      let sum: tf.Tensor4D | null = null;
      points.forEach((m, i) => {
        const up = tf.mul(resizeBilinear(m, size[0], size[1]), this.pointWeights[i]) as tf.Tensor4D;
        sum = sum ? (tf.add(sum, up) as tf.Tensor4D) : up;
      });
      return sum!;
    });
    return { points: new Map(this.points.map((p, i) => [p, points[i]])), combined };
  }

  describe(): PerceptualDistanceRecord {
    return {
      kind: 'perceptual-distance',
      formula: `LPIPS: per point, features / (||features||_2 over channels + ${UNIT_NORM_EPS}), squared difference, ${
        this.variant === 'lin' ? 'non-negative per-channel weighted sum' : 'channel sum'
      }, spatial mean; weighted sum over points`,
      backbone: this.extractor.backbone.id,
      points: [...this.points],
      pointWeights: [...this.pointWeights],
      variant: this.variant,
      linWeights: this.linSource ? { source: this.linSource } : null,
      input: describeInputSpec(this.input),
      spatial: this.spatial,
      batchNorm: this.batchNorm,
      weights: this.extractor.provenance,
      backend: backendName(),
    };
  }

  /** Frees the lin weights (the extractor belongs to the caller). */
  dispose(): void {
    if (this.lin) for (const t of this.lin.values()) t.dispose();
    this.disposed = true;
  }

  /** Per point [N, h, w, 1]: channel sum or lin weighting of the squared normalised difference. */
  private pointMaps(fa: PerceptualFeatures, fb: PerceptualFeatures): Map<string, tf.Tensor4D> {
    this.assertLive();
    const out = new Map<string, tf.Tensor4D>();
    for (const p of this.points) {
      const a = fa.get(p);
      const b = fb.get(p);
      if (!a || !b) {
        throw inputError(
          `features without point '${p}'`,
          `this distance compares ${this.points.join(', ')}`,
          "compute them with the same distance's features()",
        );
      }
      if (a.shape.join() !== b.shape.join()) {
        throw inputError(
          `features at '${p}' of shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`,
          'differ',
          'compare images of the same size and batch',
        );
      }
      const sq = tf.squaredDifference(a, b);
      const lin = this.lin?.get(p);
      out.set(p, (lin ? tf.sum(tf.mul(sq, lin), -1, true) : tf.sum(sq, -1, true)) as tf.Tensor4D);
    }
    return out;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('PerceptualDistance was disposed');
  }
}

/** Resolves point names through the backbone and rejects repeats (each point would count twice). */
export function resolveUnique(extractor: FeatureExtractor, names: string[]): ExtractionPoint[] {
  if (!names.length) throw configError('points', 'is empty', 'name at least one extraction point');
  const pts = names.map((n) => extractor.backbone.point(n));
  const seen = new Set<string>();
  for (const [i, p] of pts.entries()) {
    if (seen.has(p.name))
      throw configError(
        `points [${names.join(', ')}]`,
        `name '${p.name}' twice ('${names[i]}')`,
        'list each point once; use pointWeights to weight one more',
      );
    seen.add(p.name);
  }
  return pts;
}

export function checkPointWeights(w: number[] | undefined, n: number): number[] {
  if (!w) return new Array<number>(n).fill(1);
  if (w.length !== n)
    throw configError(`pointWeights [${w.join(', ')}]`, `has ${w.length} entries for ${n} points`, 'give one weight per point');
  const bad = w.find((v) => !Number.isFinite(v) || v < 0);
  if (bad !== undefined) throw configError(`pointWeights [${w.join(', ')}]`, `contains ${bad}`, 'use finite non-negative weights');
  return [...w];
}

function checkLinWeights(given: Map<string, Float32Array>, pts: ExtractionPoint[], names: string[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const problems: string[] = [];
  pts.forEach((p, i) => {
    const w = given.get(p.name) ?? given.get(names[i]);
    if (!w) {
      problems.push(`no weights for point '${p.name}'`);
    } else if (w.length !== p.channels) {
      problems.push(`point '${p.name}' has ${p.channels} channels but ${w.length} weights`);
    } else {
      const bad = w.findIndex((v) => !(v >= 0) || !Number.isFinite(v));
      if (bad >= 0) problems.push(`point '${p.name}' weight ${bad} is ${w[bad]} (must be finite and non-negative)`);
      else out.set(p.name, w);
    }
  });
  const known = new Set([...pts.map((p) => p.name), ...names]);
  const extra = [...given.keys()].filter((k) => !known.has(k));
  if (extra.length) problems.push(`weights for points not compared: ${extra.join(', ')}`);
  if (problems.length) {
    throw configError('linWeights', problems.join('; '), 'give one non-negative weight per channel for exactly the compared points');
  }
  return out;
}

function checkPair(a: tf.Tensor4D, b: tf.Tensor4D): void {
  if (a.shape.join() !== b.shape.join()) {
    throw inputError(
      `image pair of shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`,
      'differ',
      'compare batches of the same size and shape',
    );
  }
}
