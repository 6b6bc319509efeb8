import * as tf from '@tensorflow/tfjs-core';
import type { Backbone, ExtractionPoint, ExtractOptions, FeatureExtractor, WeightsProvenance } from '../contracts/backbone';
import { runGraph } from '../graph/executor';
import { buildLayers, disposeLayers, type Layer } from '../graph/layers';
import type { StateDict } from '../weights/state-dict';
import { inputError } from '../errors';

// a brand, not instanceof: a plugin or an engine package may hold another copy of this class
const BRAND: unique symbol = Symbol.for('dpl.GraphFeatureExtractor') as never;

/** True for a GraphFeatureExtractor from any copy of @dpl/core (frozen weights, a graph). */
export const isGraphFeatureExtractor = (x: unknown): x is GraphFeatureExtractor =>
  typeof x === 'object' && x !== null && (x as { [BRAND]?: unknown })[BRAND] === true;

/**
 * The backbone an extractor runs: a GraphBackbone (define.ts), named by what is used here so that
 * define.ts and this file do not import each other.
 */
export type CheckedBackbone = Backbone & { checkInputSize(h: number, w: number, points: ExtractionPoint[]): void };

/** A graph backbone bound to frozen weights. */
export class GraphFeatureExtractor implements FeatureExtractor {
  readonly [BRAND] = true;
  private layers: Map<number, Layer> | null;

  constructor(
    readonly backbone: CheckedBackbone,
    sd: StateDict,
    readonly provenance: WeightsProvenance,
  ) {
    this.layers = buildLayers(backbone.graph(), sd);
  }

  extract(images: tf.Tensor4D, points: string[], opts: ExtractOptions = {}): Map<string, tf.Tensor4D> {
    if (!this.layers) throw new Error(`${this.backbone.id} feature extractor was disposed`);
    if (images.rank !== 4 || images.shape[3] !== 3) {
      throw inputError(`images of shape [${images.shape.join(', ')}]`, `${this.backbone.id} needs NHWC input with 3 channels`);
    }
    const pts = this.backbone.resolvePoints(points);
    this.backbone.checkInputSize(images.shape[1], images.shape[2], pts);
    const outs = runGraph(
      this.backbone.graph(),
      this.layers,
      images,
      pts.map((p) => p.node),
      opts.batchNorm ?? 'eval',
      opts.dropPathRandom,
    );
    const result = new Map<string, tf.Tensor4D>();
    pts.forEach((p, i) => result.set(p.name, outs[i] as tf.Tensor4D));
    return result;
  }

  dispose(): void {
    if (this.layers) disposeLayers(this.layers);
    this.layers = null;
  }
}
