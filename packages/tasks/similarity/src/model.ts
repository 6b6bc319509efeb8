/**
 * The trained parts of the LPIPS-style metric, as parameters of one ParamStore:
 *  - `lin.<point>.weight` [C]: non-negative channel weights per point (LPIPS' NetLinLayer, a
 *    1x1 conv without bias, preceded by dropout in training);
 *  - `rank.model.{0,2,4}.{weight,bias}`: LPIPS' ranking head (Dist2LogitLayer): the 1x1 convs
 *    5 -> h -> h -> 1 with LeakyReLU(0.2) between, on [d0, d1, d0 - d1, d0/(d1+0.1), d1/(d0+0.1)],
 *    trained with BCE against the judge through a sigmoid;
 *  - tune / scratch only: `net.<torchvision key>`: the backbone's own weights (HWIO convs).
 * Names follow PyTorch's, so a checkpoint is readable next to LPIPS' code.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  configError,
  nn,
  randomStateDict,
  readWeights,
  runGraph,
  weightsError,
  type Backbone,
  type ExtractOptions,
  type FeatureExtractor,
  type Graph,
  type Layer,
  type ParamStore,
  type StateDict,
  type WeightsProvenance,
} from '@dpl/core';

/** LPIPS' Dist2LogitLayer epsilon in the ratio features. */
const RANK_EPS = 0.1;
const LEAKY_SLOPE = 0.2;

export const linParam = (point: string): string => `lin.${point}.weight`;

/** Creates the channel weights (PyTorch's default 1x1-conv init, then clamped to >= 0) and the ranking head. */
export function createHead(store: ParamStore, points: string[], channels: number[], hidden: number): void {
  points.forEach((p, i) => {
    const w = store.param(linParam(p), [channels[i]], { kind: 'uniform', bound: 1 / Math.sqrt(channels[i]) });
    // LPIPS clamps only after each step; clamping the initial weights too keeps every distance
    // >= 0 from the first step, so the head's ratio features d/(d'+0.1) cannot blow up
    tf.tidy(() => w.assign(tf.relu(w)));
  });
  store.build(() => rankingLogits(store, tf.zeros([2]) as tf.Tensor1D, tf.zeros([2]) as tf.Tensor1D, hidden));
}

/** The lin weight variables, in point order. */
export const linVariables = (store: ParamStore, points: string[]): tf.Variable[] => points.map((p) => store.get(linParam(p)));

/** The lin weights as plain arrays (for PerceptualDistance and checkpoints). */
export async function linWeightsOf(store: ParamStore, points: string[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const p of points) out.set(p, Float32Array.from((await store.get(linParam(p)).data()) as Float32Array));
  return out;
}

/** Ranking-head logits [N] for distance pairs (d0, d1) [N] (the sigmoid is in the loss). */
export function rankingLogits(store: ParamStore, d0: tf.Tensor1D, d1: tf.Tensor1D, hidden: number): tf.Tensor1D {
  return tf.tidy(() => {
    const n = d0.shape[0];
    const feats = tf.stack([d0, d1, tf.sub(d0, d1), tf.div(d0, tf.add(d1, RANK_EPS)), tf.div(d1, tf.add(d0, RANK_EPS))], 1);
    let x = tf.reshape(feats, [n, 1, 1, 5]) as tf.Tensor4D;
    x = nn.leakyRelu(nn.conv(store, 'rank.model.0', x, { out: hidden, k: 1 }), LEAKY_SLOPE);
    x = nn.leakyRelu(nn.conv(store, 'rank.model.2', x, { out: hidden, k: 1 }), LEAKY_SLOPE);
    x = nn.conv(store, 'rank.model.4', x, { out: 1, k: 1 });
    return tf.reshape(x, [n]) as tf.Tensor1D;
  });
}

/** Mean binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed stably from the logits. */
export function bceWithLogits(logits: tf.Tensor1D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(
    () => tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))) as tf.Scalar,
  );
}

/**
 * Distance [N] from per-point channel vectors v_p [N, C_p] (the spatial means of the squared
 * normalised feature differences): sum_p v_p . w_p. Because the weighting is linear, weighting
 * the spatial mean equals LPIPS' spatial mean of the weighted map.
 */
export function linDistance(store: ParamStore, points: string[], v: tf.Tensor2D[]): tf.Tensor1D {
  return tf.tidy(() => {
    let total: tf.Tensor1D | null = null;
    points.forEach((p, i) => {
      const w = store.get(linParam(p));
      const d = tf.reshape(tf.matMul(v[i], tf.reshape(w, [-1, 1]) as tf.Tensor2D), [-1]) as tf.Tensor1D;
      total = total ? (tf.add(total, d) as tf.Tensor1D) : d;
    });
    return total!;
  });
}

// ---------------------------------------------------------------------------------------------
// tune / scratch: the backbone graph with its weights as trainable variables

/** The graph nodes needed for `targets`, in order (the executor computes only these too). */
function neededNodes(graph: Graph, targets: number[]): Set<number> {
  const need = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const id = stack.pop()!;
    if (need.has(id)) continue;
    need.add(id);
    stack.push(...graph.nodes[id].inputs);
  }
  return need;
}

/**
 * A backbone whose weights live in a ParamStore as `net.<key>` variables: the graph runs through
 * core's executor with layers that read the variables on every call, so gradients reach them.
 * Dense convolutions only (the trainable conv has no groups); BatchNorm trains gamma/beta.
 */
export class TrainableNetwork implements FeatureExtractor {
  private readonly nodes: Set<number>;

  constructor(
    readonly backbone: Backbone,
    readonly store: ParamStore,
    readonly provenance: WeightsProvenance,
    points: string[],
  ) {
    const graph = backbone.graph();
    this.nodes = neededNodes(
      graph,
      backbone.resolvePoints(points).map((p) => p.node),
    );
    const grouped = graph.nodes.filter((n) => this.nodes.has(n.id) && n.op.kind === 'conv' && n.op.groups !== 1);
    if (grouped.length) {
      throw configError(
        `backbone '${backbone.id}'`,
        `has grouped convolutions (${grouped
          .slice(0, 3)
          .map((n) => (n.op as { key: string }).key)
          .join(', ')}${grouped.length > 3 ? ', ...' : ''}), which the tune/scratch variants cannot train yet`,
        "use variant 'baseline' or 'lin' for this backbone",
      );
    }
    const linear = graph.nodes.find((n) => this.nodes.has(n.id) && n.op.kind === 'linear');
    if (linear) throw configError(`backbone '${backbone.id}'`, 'has a linear layer before the requested points', 'use earlier points');
  }

  /** Puts `sd` (a torchvision state_dict, validated by the backbone) into the store as `net.*`. */
  load(sd: StateDict): void {
    const graph = this.backbone.graph();
    for (const n of graph.nodes) {
      if (!this.nodes.has(n.id)) continue;
      const op = n.op;
      const set = (name: string, data: Float32Array, shape: number[], trainable = true) => {
        const v = this.store.param(`net.${name}`, shape, { kind: 'constant', value: 0 }, trainable);
        tf.tidy(() => v.assign(tf.tensor(data, shape)));
      };
      const rec = (key: string) => {
        const r = sd.get(key);
        if (!r) throw weightsError(`${this.backbone.id} weights`, `lack ${key}`);
        return r;
      };
      if (op.kind === 'conv') {
        const w = rec(`${op.key}.weight`);
        const [o, i, kh, kw] = w.shape;
        // OIHW -> HWIO, as core's frozen layers do
        const hwio = tf.tidy(() => tf.transpose(tf.tensor4d(w.data, [o, i, kh, kw]), [2, 3, 1, 0]).dataSync() as Float32Array);
        set(`${op.key}.weight`, hwio, [kh, kw, i, o]);
        if (op.bias) set(`${op.key}.bias`, rec(`${op.key}.bias`).data, [o]);
      } else if (op.kind === 'batchNorm') {
        set(`${op.key}.weight`, rec(`${op.key}.weight`).data, [op.channels]);
        set(`${op.key}.bias`, rec(`${op.key}.bias`).data, [op.channels]);
        set(`${op.key}.running_mean`, rec(`${op.key}.running_mean`).data, [op.channels], false);
        set(`${op.key}.running_var`, rec(`${op.key}.running_var`).data, [op.channels], false);
      }
    }
  }

  /** One forward pass returning every requested point; differentiable w.r.t. the `net.*` variables. */
  extract(images: tf.Tensor4D, points: string[], opts: ExtractOptions = {}): Map<string, tf.Tensor4D> {
    const pts = this.backbone.resolvePoints(points);
    const graph = this.backbone.graph();
    const training = opts.batchNorm === 'train';
    const outs = tf.tidy(() => {
      const layers = new Map<number, Layer>();
      for (const n of graph.nodes) {
        if (!this.nodes.has(n.id)) continue;
        const op = n.op;
        if (op.kind === 'conv') {
          const spec = { out: op.outChannels, k: op.kernel, stride: op.stride, pad: op.pad, dilation: op.dilation, bias: op.bias };
          layers.set(n.id, {
            kind: 'conv',
            conv: { forward: (x) => nn.conv(this.store, `net.${op.key}`, x, spec), dispose: () => undefined },
          });
        } else if (op.kind === 'batchNorm') {
          // the executor reads these: eval folds the running statistics into scale/shift, computed
          // here from the variables so the tape reaches gamma and beta; train mode uses weight/bias
          const get = (s: string) => this.store.get(`net.${op.key}.${s}`) as tf.Variable<tf.Rank.R1>;
          const scale = tf.mul(get('weight'), tf.rsqrt(tf.add(get('running_var'), op.eps))) as tf.Tensor1D;
          const shift = tf.sub(get('bias'), tf.mul(get('running_mean'), scale)) as tf.Tensor1D;
          layers.set(n.id, { kind: 'bn', bn: { scale, shift, weight: get('weight'), bias: get('bias'), eps: op.eps } });
        }
      }
      return runGraph(
        graph,
        layers,
        images,
        pts.map((p) => p.node),
        training ? 'train' : 'eval',
      );
    });
    return new Map(pts.map((p, i) => [p.name, outs[i] as tf.Tensor4D]));
  }

  /** The store belongs to the caller. */
  dispose(): void {}
}

/**
 * The weights a tune / scratch network starts from: tune continues from the loss network's own
 * weights (the file it was built from, or the same seeded random weights), scratch from seeded
 * random weights.
 */
export async function initialNetworkWeights(
  extractor: FeatureExtractor,
  variant: 'tune' | 'scratch',
  seed: number,
): Promise<{ sd: StateDict; provenance: WeightsProvenance }> {
  const backbone = extractor.backbone;
  if (variant === 'scratch') return { sd: randomStateDict(backbone.graph(), seed), provenance: { kind: 'random', seed } };
  const prov = extractor.provenance;
  if (prov.kind === 'random') return { sd: randomStateDict(backbone.graph(), prov.seed), provenance: prov };
  return { sd: backbone.prepareWeights(await readWeights(prov.file), prov.file), provenance: prov };
}
