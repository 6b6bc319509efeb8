/**
 * A PerceptualDistance whose features come from an inference engine: the non-differentiable
 * path (scoring, `dpl similarity`). Input preparation, unit normalisation and the distance
 * itself stay the distance's own code on tfjs; only the backbone forward pass moves to the
 * engine, which is where nearly all the time goes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configError, inputError } from '../errors';
import type { PerceptualDistance, PerceptualFeatures, PerceptualMaps } from '../perceptual/distance';
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

/** A PerceptualDistance whose forward passes run on an inference engine (onnxruntime or tfjs). */
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
      return tf.tensor1d(Float32Array.from(await this.reduce(ref, fb)));
    } finally {
      tf.dispose([...fb.values()]);
    }
  }

  /** Per-sample distances, reduced in float64 (see reduce). */
  async distances(a: tf.Tensor4D, b: tf.Tensor4D): Promise<Float64Array> {
    checkSameShape(a, b);
    const fa = await this.features(a);
    try {
      const fb = await this.features(b);
      try {
        return await this.reduce(fa, fb);
      } finally {
        tf.dispose([...fb.values()]);
      }
    } finally {
      tf.dispose([...fa.values()]);
    }
  }

  /** Per-point and combined distance maps (LPIPS spatial=True) and the float64 distances; the caller disposes the maps. */
  async spatialMaps(a: tf.Tensor4D, b: tf.Tensor4D): Promise<PerceptualMaps & { distances: Float64Array }> {
    checkSameShape(a, b);
    const r = this.distance.input.resize;
    const size: [number, number] = r ? [r.height, r.width] : [a.shape[1], a.shape[2]];
    const fa = await this.features(a);
    try {
      const fb = await this.features(b);
      try {
        const distances = await this.reduce(fa, fb);
        return { ...this.distance.spatialMapsFromFeatures(fa, fb, size), distances };
      } finally {
        tf.dispose([...fb.values()]);
      }
    } finally {
      tf.dispose([...fa.values()]);
    }
  }

  /**
   * The spatial means and the sum over points in float64 on the host: a float32 running sum over
   * a large map drifts (2e-4 relative at 1024x768 with vgg16), while each map value is exact to
   * float32 rounding. A float64 sum of n float32 values is off by at most n * 1.1e-16 relative.
   */
  private async reduce(fa: PerceptualFeatures, fb: PerceptualFeatures): Promise<Float64Array> {
    const maps = this.distance.perPointMaps(fa, fb);
    try {
      let out: Float64Array | null = null;
      for (const [i, p] of this.distance.points.entries()) {
        const m = maps.get(p)!;
        const [n, h, w] = m.shape;
        out ??= new Float64Array(n);
        const data = (await m.data()) as Float32Array;
        const hw = h * w;
        for (let s = 0; s < n; s++) {
          let acc = 0;
          for (let k = s * hw, end = k + hw; k < end; k++) acc += data[k];
          out[s] += (this.distance.pointWeights[i] * acc) / hw;
        }
      }
      return out!;
    } finally {
      tf.dispose([...maps.values()]);
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

function checkSameShape(a: tf.Tensor4D, b: tf.Tensor4D): void {
  if (a.shape.join() !== b.shape.join()) {
    throw inputError(
      `image pair of shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`,
      'differ',
      'compare batches of the same size and shape',
    );
  }
}
