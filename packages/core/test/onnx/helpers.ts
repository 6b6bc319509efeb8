/** Shared by the ONNX tests: onnxruntime availability, runs of both engines, error measures. */
import * as tf from '@tensorflow/tfjs-core';
import { runGraph } from '../../src/graph/executor';
import type { Graph } from '../../src/graph/ir';
import { buildLayers, disposeLayers } from '../../src/graph/layers';
import { exportGraphOnnx, type OnnxExportOptions } from '../../src/onnx/export';
import { loadOnnxRuntime, sessionOptions, type OrtModule } from '../../src/onnx/runtime';
import type { BatchNormMode } from '../../src/graph/executor';
import type { StateDict } from '../../src/weights/state-dict';
import { fillNormal, mulberry32 } from '../../src/util/random';

export const ortLoad = loadOnnxRuntime();
if (!ortLoad.ok) console.warn(`SKIPPED onnxruntime tests: ${ortLoad.reason}`);
export const withOrt = ortLoad.ok ? it : it.skip;
export const describeOrt = ortLoad.ok ? describe : describe.skip;
export const ort = (): OrtModule => {
  if (!ortLoad.ok) throw new Error(ortLoad.reason);
  return ortLoad.ort;
};

/** A seeded N(0,1) NCHW batch. */
export function randomInput(shape: [number, number, number, number], seed = 1): Float32Array {
  const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fillNormal(d, mulberry32(seed), 1);
  return d;
}

/** The tfjs executor's outputs for an NCHW input, as NCHW (or [N, F]) arrays. */
export function runTfjs(
  graph: Graph,
  sd: StateDict,
  nodes: number[],
  x: Float32Array,
  shape: number[],
  bn: BatchNormMode = 'eval',
): { data: Float32Array; shape: number[] }[] {
  const layers = buildLayers(graph, sd);
  try {
    return tf.tidy(() => {
      const nhwc = tf.transpose(tf.tensor4d(x, shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D;
      const outs = runGraph(graph, layers, nhwc, nodes, bn);
      return outs.map((o) => {
        const t = o.rank === 4 ? tf.transpose(o, [0, 3, 1, 2]) : o;
        return { data: t.dataSync() as Float32Array, shape: t.shape };
      });
    });
  } finally {
    disposeLayers(layers);
  }
}

/** Exports and runs once on onnxruntime (NCHW in and out). */
export async function runOnnx(
  graph: Graph,
  sd: StateDict,
  outputs: { name: string; node: number }[],
  x: Float32Array,
  shape: number[],
  opts: OnnxExportOptions = {},
): Promise<{ data: Float32Array; shape: number[] }[]> {
  const m = exportGraphOnnx(graph, sd, outputs, opts);
  const o = ort();
  const s = await o.InferenceSession.create(m.bytes, sessionOptions(1));
  try {
    const res = await s.run({ [m.inputName]: new o.Tensor('float32', x, shape) });
    return m.outputs.map((n) => ({ data: res[n].data as Float32Array, shape: [...res[n].dims] }));
  } finally {
    await s.release();
  }
}

/** max |a - b| / max |b| (b the reference), and max |a - b|. */
export function relErr(a: Float32Array, b: Float32Array): { rel: number; abs: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    abs = Math.max(abs, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { rel: scale > 0 ? abs / scale : abs, abs };
}

import type { GraphBackbone } from '../../src/backbone/define';
import { expectedParams } from '../../src/graph/params';
import { alexnetBackbones } from '../../../backbones/alexnet/src';
import { densenetBackbones } from '../../../backbones/densenet/src';
import { efficientnetBackbones } from '../../../backbones/efficientnet/src';
import { inceptionBackbones } from '../../../backbones/inception/src';
import { resnetBackbones } from '../../../backbones/resnet/src';
import { squeezenetBackbones } from '../../../backbones/squeezenet/src';
import { vggBackbones } from '../../../backbones/vgg/src';

/** Every backbone of the workspace's families. */
export function allBackbones(): GraphBackbone[] {
  return [
    ...alexnetBackbones(),
    ...densenetBackbones(),
    ...efficientnetBackbones(),
    ...inceptionBackbones(),
    ...resnetBackbones(),
    ...squeezenetBackbones(),
    ...vggBackbones(),
  ];
}

/** The study's 14 networks (metadata.inStudy). */
export const studyBackbones = (): GraphBackbone[] => allBackbones().filter((b) => b.metadata.inStudy);

/**
 * Seeded random weights for parity tests: every parameter non-trivial (non-zero biases,
 * randomised BatchNorm statistics and affine parameters), so a wrong mapping of any of them, or a
 * wrong BatchNorm fold, changes the features. Conv weights follow torchvision's own init scale
 * (Kaiming, fan_out), drawn uniform for speed: with core's fan-in init, EfficientNet-B7's 55
 * blocks amplify the float32 rounding differences between any two correct implementations past
 * 1e-4 (measured: 7e-3 at stage7 against 1e-6 at the stem), which would test the weights'
 * conditioning, not the export.
 */
export function randomWeightsWithBn(b: GraphBackbone, seed: number): StateDict {
  // xorshift32 inline: several times faster than a closure per draw, and B7 needs 64M draws
  let state = (seed * 2654435761) >>> 0 || 1;
  const uniform = (data: Float32Array, lo: number, hi: number) => {
    const span = (hi - lo) / 4294967296;
    let a = state;
    for (let i = 0; i < data.length; i++) {
      a ^= a << 13;
      a ^= a >>> 17;
      a ^= a << 5;
      data[i] = lo + span * (a >>> 0);
    }
    state = a;
  };
  const sd: StateDict = new Map();
  for (const p of expectedParams(b.graph())) {
    const data = new Float32Array(p.shape.reduce((a, c) => a * c, 1));
    if (p.role === 'weight' && p.shape.length === 4) {
      const bound = Math.sqrt(3) * Math.sqrt(2 / (p.shape[0] * p.shape[2] * p.shape[3]));
      uniform(data, -bound, bound);
    } else if (p.role === 'weight' && p.shape.length === 2) {
      const bound = Math.sqrt(3 / p.shape[1]);
      uniform(data, -bound, bound);
    } else if (p.role === 'weight' || p.role === 'running_var') {
      uniform(data, 0.5, 1.5);
    } else {
      uniform(data, -0.1, 0.1); // biases, running means
    }
    sd.set(p.key, { dtype: 'float32', shape: p.shape, data });
  }
  return sd;
}
