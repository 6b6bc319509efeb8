import * as tf from '@tensorflow/tfjs-core';
import '../gradients';
import type { Backbone, ExtractionPoint, FeatureExtractor } from '../contracts/backbone';
import { isDplError } from '../errors';
import { spatialShapes } from '../graph/shapes';

/** One check of backboneContract: a name and a function that throws when the backbone breaks the contract. */
export interface ContractCheck {
  name: string;
  run: () => Promise<void>;
}

/** Options of backboneContract: probe input size, batch, seed and points. */
export interface ContractOptions {
  /** Input side for the probes (default: max(64, the backbone's minimum input)). */
  size?: number;
  batch?: number;
  seed?: number;
  /** Points to probe (default: the paper points, else every point). */
  points?: string[];
}

const fail = (msg: string): never => {
  throw new Error(msg);
};

/**
 * The checks every backbone must pass, written once so third-party plugins run them too:
 * `for (const c of backboneContract(b)) it(c.name, c.run)`. Runs on the current tfjs backend.
 */
export function backboneContract(b: Backbone, opts: ContractOptions = {}): ContractCheck[] {
  const all = b.points();
  const pts: ExtractionPoint[] = opts.points ? b.resolvePoints(opts.points) : all.some((p) => p.paper) ? all.filter((p) => p.paper) : all;
  const minSize = Math.max(...pts.map((p) => p.minInputSize));
  const size = opts.size ?? Math.max(64, minSize);
  const batch = opts.batch ?? 2;
  const names = pts.map((p) => p.name);
  const deepest = pts.reduce((a, p) => (p.node > a.node ? p : a));
  let ex: FeatureExtractor | null = null;
  const extractor = () => (ex ??= b.build({ seed: opts.seed ?? 0 }));
  const input = (s: number) => tf.randomUniform([batch, s, s, 3], -2, 2, 'float32', 7) as tf.Tensor4D;
  const release = (m: Map<string, tf.Tensor>) => tf.dispose([...m.values()]);

  return [
    {
      name: `${b.id}: points are well formed (unique names, study points flagged)`,
      run: async () => {
        const seen = new Set<string>();
        for (const p of all) {
          for (const n of [p.name, ...p.aliases]) {
            if (seen.has(n)) fail(`name '${n}' used twice`);
            seen.add(n);
          }
        }
        if (b.metadata.inStudy && all.filter((p) => p.paper).length !== 4) fail('a study network has exactly 4 paper points');
        for (const p of all) if (p.channels < 1 || p.stride < 1 || p.receptiveField < 1) fail(`${p.name}: bad attributes`);
      },
    },
    {
      name: `${b.id}: declared channels and stride equal a shape probe`,
      run: async () => {
        const maxStride = Math.max(...pts.map((p) => p.stride));
        const sizes = [size, size + 2 * maxStride];
        const outs = sizes.map((s) => {
          const x = input(s);
          const m = extractor().extract(x, names);
          const shapes = new Map([...m].map(([k, v]) => [k, v.shape]));
          const predicted = spatialShapes(
            b.graph(),
            s,
            s,
            pts.map((p) => p.node),
          );
          release(m);
          x.dispose();
          return { shapes, predicted };
        });
        for (const p of pts) {
          const [a, c] = [outs[0].shapes.get(p.name)!, outs[1].shapes.get(p.name)!];
          if (a[3] !== p.channels) fail(`${p.name}: declares ${p.channels} channels, probe has ${a[3]}`);
          const pr = outs[0].predicted[p.node]!;
          if (a[1] !== pr[0] || a[2] !== pr[1]) fail(`${p.name}: analyser predicts ${pr.join('x')}, probe has ${a[1]}x${a[2]}`);
          const measured = (sizes[1] - sizes[0]) / (c[1] - a[1]);
          if (measured !== p.stride) fail(`${p.name}: declares stride ${p.stride}, probe measures ${measured}`);
        }
      },
    },
    {
      name: `${b.id}: one pass returns every point, equal to extracting each alone`,
      run: async () => {
        const x = input(size);
        const together = extractor().extract(x, names);
        for (const p of [deepest, pts[0]]) {
          const alone = extractor().extract(x, [p.name]);
          const d = tf.tidy(() => tf.max(tf.abs(tf.sub(alone.get(p.name)!, together.get(p.name)!))).dataSync()[0]);
          release(alone);
          if (d !== 0) fail(`${p.name}: differs by ${d} when extracted alone`);
        }
        release(together);
        x.dispose();
      },
    },
    {
      name: `${b.id}: an unknown point is a clear error`,
      run: async () => {
        try {
          b.point('no_such_point');
        } catch (e) {
          if (isDplError(e) && /no_such_point/.test((e as Error).message)) return;
          throw e;
        }
        fail('unknown point did not throw');
      },
    },
    {
      name: `${b.id}: features are finite and the input gradient is finite and non-zero`,
      run: async () => {
        const x = input(size);
        const feats = extractor().extract(x, names);
        for (const [k, v] of feats) if (!(await tf.all(tf.isFinite(v)).data())[0]) fail(`${k}: non-finite features`);
        release(feats);
        const g = tf.grad((xi: tf.Tensor) => {
          const m = extractor().extract(xi as tf.Tensor4D, names);
          return tf.addN([...m.values()].map((t) => tf.mean(tf.square(t))));
        })(x);
        const v = await g.data();
        if (!v.every(Number.isFinite)) fail('input gradient has non-finite values');
        if (!v.some((e) => e !== 0)) fail('input gradient is all zero');
        tf.dispose([x, g]);
      },
    },
    {
      name: `${b.id}: no tensor leak across repeated extractions`,
      run: async () => {
        const x = input(size);
        const once = () => release(extractor().extract(x, names));
        once();
        const before = tf.memory().numTensors;
        for (let i = 0; i < 5; i++) once();
        const after = tf.memory().numTensors;
        x.dispose();
        ex?.dispose();
        ex = null;
        if (after !== before) fail(`tensor count grew from ${before} to ${after}`);
      },
    },
  ];
}
