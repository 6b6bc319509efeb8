/**
 * A PerceptualDistance whose features come from an inference engine: the non-differentiable
 * path (scoring, `dpl similarity`). Input preparation, unit normalisation and the distance
 * itself stay the distance's own code on tfjs; only the backbone forward pass moves to the
 * engine, which is where nearly all the time goes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configError } from '../errors';
import type { PerceptualDistance, PerceptualFeatures } from '../perceptual/distance';
import { prepareInput } from '../perceptual/input';
import { unitNormalize } from '../perceptual/unit-normalize';
import { createInferenceEngine, type EngineChoice, type EngineOptions, type EngineRecord, type InferenceEngine } from './engine';

/** The async face of a distance that scoring loops use. */
export interface AsyncPerceptualDistance {
  /** Unit-normalised features of `x` at every point; the caller disposes them. */
  features(x: tf.Tensor4D): Promise<PerceptualFeatures>;
  /** Per-sample distances [N]. */
  compute(a: tf.Tensor4D, b: tf.Tensor4D): Promise<tf.Tensor1D>;
  /** Per-sample distances between precomputed features and `b`; `ref` is not disposed. */
  computeWithReference(ref: PerceptualFeatures, b: tf.Tensor4D): Promise<tf.Tensor1D>;
}

export class EngineDistance implements AsyncPerceptualDistance {
  constructor(
    readonly distance: PerceptualDistance,
    readonly engine: InferenceEngine,
  ) {
    const missing = distance.points.filter((p) => !engine.points.includes(p));
    if (missing.length) {
      throw configError('engine', `does not compute point(s) ${missing.join(', ')}`, "create it with the distance's points");
    }
    if (engine.name === 'onnx' && engine.layout !== 'nhwc') {
      throw configError('engine', "feeds a distance, so it must use layout 'nhwc'", "create it with { layout: 'nhwc' }");
    }
  }

  async features(x: tf.Tensor4D): Promise<PerceptualFeatures> {
    if (this.engine.name === 'tfjs') return this.distance.features(x);
    const net = prepareInput(x, this.distance.input);
    let data: Float32Array;
    try {
      data = (await net.data()) as Float32Array;
    } finally {
      net.dispose();
    }
    const raw = await this.engine.run({ data, shape: net.shape });
    const out: PerceptualFeatures = new Map();
    for (const p of this.distance.points) {
      const r = raw.get(p)!;
      out.set(
        p,
        tf.tidy(() => unitNormalize(tf.tensor4d(r.data, r.shape as [number, number, number, number]))),
      );
    }
    return out;
  }

  async compute(a: tf.Tensor4D, b: tf.Tensor4D): Promise<tf.Tensor1D> {
    if (a.shape.join() !== b.shape.join()) return this.distance.compute(a, b); // its error names both shapes
    const fa = await this.features(a);
    try {
      return await this.computeWithReference(fa, b);
    } finally {
      tf.dispose([...fa.values()]);
    }
  }

  async computeWithReference(ref: PerceptualFeatures, b: tf.Tensor4D): Promise<tf.Tensor1D> {
    const fb = await this.features(b);
    try {
      return this.distance.fromFeatures(ref, fb);
    } finally {
      tf.dispose([...fb.values()]);
    }
  }

  describe(): EngineRecord {
    return this.engine.describe();
  }

  /** Releases the engine (the distance belongs to the caller). */
  async dispose(): Promise<void> {
    await this.engine.dispose();
  }
}

/** An engine-backed view of `distance` (its extractor, points and BatchNorm mode). */
export async function createEngineDistance(
  choice: EngineChoice,
  distance: PerceptualDistance,
  opts: Omit<EngineOptions, 'layout' | 'batchNorm' | 'needsGradients'> = {},
): Promise<EngineDistance> {
  const engine = await createInferenceEngine(choice, distance.extractor, distance.points, {
    ...opts,
    layout: 'nhwc',
    batchNorm: distance.batchNorm,
  });
  return new EngineDistance(distance, engine);
}
