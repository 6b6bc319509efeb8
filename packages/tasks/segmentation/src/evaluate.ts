/**
 * Inference and scoring: the U-Net in eval mode (BatchNorm running statistics) over whole resized
 * tiles, K refinement steps; BCE per step (model selection on validation); delineation scores of
 * the last step on test (completeness, correctness, quality, per image then averaged, prediction
 * > threshold, ground truth > gtThreshold), and the same scores for the two trivial predictors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '@dpl/core';
import { delineationScores, type DelineationOptions, type DelineationScores } from '@dpl/metrics';
import { toTensors, type RoadSample } from './data/loader';
import { bceWithLogits } from './loss';
import { iterate, type UNetMode, type UNetOptions } from './model';

export interface Prediction {
  /** Probabilities per step, per image (HW, row-major): probs[step][image]. */
  probs: Float32Array[][];
  /** Mean BCE over all pixels of all images, per step. */
  bce: number[];
}

/**
 * Runs K steps over the samples in batches of `batchSize`; `onBatch` gets the images done so far.
 * mode 'batch' (BatchNorm on batch statistics, as the study's test script) runs one tile at a
 * time, as that script did, so a tile's score does not depend on the others in its batch.
 */
export async function predict(
  store: ParamStore,
  samples: readonly RoadSample[],
  k: number,
  batchSize: number,
  o: UNetOptions,
  onBatch?: (n: number) => void,
  mode: UNetMode = false,
): Promise<Prediction> {
  if (mode === 'batch') batchSize = 1;
  const probs: Float32Array[][] = Array.from({ length: k }, () => []);
  const bceSum = new Array<number>(k).fill(0);
  let pixels = 0;
  for (let s = 0; s < samples.length; s += batchSize) {
    const batch = samples.slice(s, s + batchSize);
    const { x, y } = toTensors(batch);
    const outs = tf.tidy(() => iterate(store, x, k, mode, o).flatMap((z) => [tf.sigmoid(z), tf.mul(bceWithLogits(z, y), y.size)]));
    tf.dispose([x, y]);
    const hw = batch[0].size * batch[0].size;
    for (let i = 0; i < k; i++) {
      const p = (await outs[2 * i].data()) as Float32Array;
      for (let j = 0; j < batch.length; j++) probs[i].push(p.slice(j * hw, (j + 1) * hw));
      bceSum[i] += (await outs[2 * i + 1].data())[0];
    }
    pixels += batch.length * hw;
    tf.dispose(outs);
    onBatch?.(Math.min(s + batchSize, samples.length));
  }
  return { probs, bce: bceSum.map((b) => b / pixels) };
}

export interface TestScores extends DelineationScores {
  perImage: DelineationScores[];
}

/** Delineation scores of probability maps against the samples' masks. */
export function scoreMaps(probs: readonly Float32Array[], samples: readonly RoadSample[], opts: DelineationOptions): TestScores {
  const r = delineationScores(
    probs.map((p, i) => ({ pred: p, gt: samples[i].mask })),
    opts,
  );
  return { completeness: r.completeness, correctness: r.correctness, quality: r.quality, perImage: r.perImage };
}

/**
 * The score the study's test script writes (docs/PROTOCOL.md, "Deviations": metricAccumulation):
 * at iteration j it re-adds the scores of every step so far, so step i (1-based) of K counts
 * K - i + 1 times per tile, and the sums are divided by the tile count only.
 */
export function officialAccumulation(perStep: readonly DelineationScores[]): DelineationScores {
  const k = perStep.length;
  const sum = (key: keyof DelineationScores) => perStep.reduce((s, x, i) => s + (k - i) * x[key], 0);
  return { completeness: sum('completeness'), correctness: sum('correctness'), quality: sum('quality') };
}

/** Scores of predicting no road anywhere and road everywhere (references any model must beat). */
export function trivialScores(
  samples: readonly RoadSample[],
  opts: DelineationOptions,
): { allBackground: DelineationScores; allRoad: DelineationScores } {
  const constant = (v: number) => samples.map((s) => new Float32Array(s.mask.length).fill(v));
  const strip = (r: TestScores): DelineationScores => ({ completeness: r.completeness, correctness: r.correctness, quality: r.quality });
  return { allBackground: strip(scoreMaps(constant(0), samples, opts)), allRoad: strip(scoreMaps(constant(1), samples, opts)) };
}

/** Fraction of road pixels over all samples. */
export function roadFraction(samples: readonly RoadSample[]): number {
  let road = 0;
  let all = 0;
  for (const s of samples) {
    for (let i = 0; i < s.mask.length; i++) road += s.mask[i];
    all += s.mask.length;
  }
  return all ? road / all : 0;
}
