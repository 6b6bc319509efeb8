/**
 * @jest-environment ./packages/core/test/onnx/ort-environment.js
 */
/**
 * The inference engine around the export: errors for ops without an ONNX form, the model cache
 * (reuse without re-export, keys that separate weights and points), weights taken from the
 * extractor's provenance, dynamic batch and size in both layouts, batch-statistics BatchNorm,
 * auto's fallback, and the engine-backed perceptual distance.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import { defineBackbone } from '../../src/backbone/define';
import { isDplError } from '../../src/errors';
import type { Graph } from '../../src/graph/ir';
import * as exporter from '../../src/onnx/export';
import { createInferenceEngine, type InferenceEngine } from '../../src/onnx/engine';
import { createEngineDistance } from '../../src/onnx/distance-engine';
import { coreCount } from '../../src/onnx/runtime';
import { PerceptualDistance } from '../../src/perceptual/distance';
import { writeSafetensors } from '../../src/weights/safetensors';
import { allBackbones, describeOrt, randomInput, randomWeightsWithBn, relErr, runOnnx } from './helpers';

const byId = (id: string) => allBackbones().find((b) => b.id === id)!;
let tmp: string;

beforeAll(async () => {
  await initBackend('wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dpl-onnx-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A small backbone whose second point sits behind a 2x2 adaptive pool (no dynamic-size ONNX form). */
const toy = () =>
  defineBackbone({
    id: 'toy',
    family: 'toy',
    metadata: { batchNorm: false, normalization: 'none', inStudy: false },
    graph: (g) => {
      const x = g.input(3);
      const c = g.tap('conv', g.relu(g.conv(x, 'c', { out: 4, k: 3, pad: 1 })));
      g.tap('pooled', g.adaptiveAvgPool(c, 2));
    },
  });

const errorOf = async (f: () => unknown): Promise<Error> => {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

/** Max relative error of every point of `a` against `b`. */
async function compareEngines(a: InferenceEngine, b: InferenceEngine, shape: number[], seed: number): Promise<number> {
  const x = { data: randomInput(shape as [number, number, number, number], seed), shape };
  const ra = await a.run(x);
  const rb = await b.run(x);
  let worst = 0;
  for (const p of b.points) {
    expect({ p, shape: ra.get(p)!.shape }).toEqual({ p, shape: rb.get(p)!.shape });
    worst = Math.max(worst, relErr(ra.get(p)!.data, rb.get(p)!.data).rel);
  }
  return worst;
}

describe('ops the exporter cannot express', () => {
  it('throws a DplError naming the node and op; earlier points still export', () => {
    const b = toy();
    const e = (() => {
      try {
        exporter.exportBackboneOnnx(b, randomWeightsWithBn(b, 1), ['pooled']);
      } catch (err) {
        return err as Error;
      }
      throw new Error('expected an error');
    })();
    expect(isDplError(e)).toBe(true);
    expect((e as { code?: string }).code).toBe('E_ONNX_UNSUPPORTED');
    expect(e.message).toMatch(/adaptiveAvgPool/);
    expect(e.message).toMatch(/2x2/);
    expect(exporter.exportBackboneOnnx(b, randomWeightsWithBn(b, 1), ['conv']).outputs).toEqual(['conv']);
  });

  it('an op kind the exporter does not know is named', () => {
    const graph: Graph = {
      nodes: [
        { id: 0, op: { kind: 'input', channels: 3 }, inputs: [], channels: 3 },
        { id: 1, op: { kind: 'softplus' } as unknown as Graph['nodes'][number]['op'], inputs: [0], channels: 3 },
      ],
      taps: [],
      output: 1,
    };
    expect(() => exporter.exportGraphOnnx(graph, new Map(), [{ name: 'y', node: 1 }])).toThrow(
      /node 1 \(softplus\).*'softplus' has no ONNX form/,
    );
  });
});

describeOrt('onnx engine', () => {
  it("'onnx' fails on an unexportable point; 'auto' falls back to tfjs with a one-line notice", async () => {
    const b = toy();
    const ex = b.build({ seed: 1 });
    try {
      const e = await errorOf(() => createInferenceEngine('onnx', ex, ['pooled'], { cacheDir: null }));
      expect(e.message).toMatch(/adaptiveAvgPool/);
      const lines: string[] = [];
      const auto = await createInferenceEngine('auto', ex, ['pooled'], { cacheDir: null, log: (l) => lines.push(l) });
      expect(auto.name).toBe('tfjs');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^engine: tfjs \(onnx export or load failed: .*adaptiveAvgPool/);
      expect(lines[0]).not.toMatch(/\n/);
      const out = await auto.run({ data: randomInput([1, 3, 8, 8]), shape: [1, 3, 8, 8] });
      expect(out.get('pooled')!.shape).toEqual([1, 4, 2, 2]);
    } finally {
      ex.dispose();
    }
  });

  it('caches the exported model: a second engine reuses it without exporting; other weights or points get their own', async () => {
    const b = byId('squeezenet1_1');
    const dir = path.join(tmp, 'cache');
    const spy = jest.spyOn(exporter, 'exportGraphOnnx');
    const ex = b.build({ seed: 5 });
    const ex6 = b.build({ seed: 6 });
    const engines: InferenceEngine[] = [];
    try {
      const first = await createInferenceEngine('onnx', ex, ['paper'], { cacheDir: dir });
      engines.push(first);
      expect(spy).toHaveBeenCalledTimes(1);
      const d1 = first.describe();
      expect(d1.reused).toBe(false);
      expect(fs.existsSync(d1.model!)).toBe(true);
      expect(path.dirname(d1.model!)).toBe(dir);
      const mtime = fs.statSync(d1.model!).mtimeMs;

      const second = await createInferenceEngine('onnx', ex, ['paper'], { cacheDir: dir });
      engines.push(second);
      expect(spy).toHaveBeenCalledTimes(1); // no second export
      expect(second.describe()).toMatchObject({ reused: true, model: d1.model });
      expect(fs.statSync(d1.model!).mtimeMs).toBe(mtime);
      expect(await compareEngines(second, first, [1, 3, 64, 64], 2)).toBe(0);
      // ...and the cached model computes what tfjs computes
      const tfjs = await createInferenceEngine('tfjs', ex, ['paper']);
      expect(await compareEngines(second, tfjs, [1, 3, 64, 64], 2)).toBeLessThanOrEqual(1e-4);

      const otherWeights = await createInferenceEngine('onnx', ex6, ['paper'], { cacheDir: dir });
      const otherPoints = await createInferenceEngine('onnx', ex, ['relu1', 'fire2'], { cacheDir: dir });
      engines.push(otherWeights, otherPoints);
      expect(spy).toHaveBeenCalledTimes(3);
      const files = new Set([d1.model, otherWeights.describe().model, otherPoints.describe().model]);
      expect(files.size).toBe(3);
      expect(fs.readdirSync(dir).filter((f) => f.endsWith('.onnx'))).toHaveLength(3);
    } finally {
      spy.mockRestore();
      for (const e of engines) await e.dispose();
      ex.dispose();
      ex6.dispose();
    }
  });

  it('a cached model damaged on disk (same size) fails its SHA-256 check and is re-exported with a notice', async () => {
    const b = byId('squeezenet1_1');
    const dir = path.join(tmp, 'cache-damaged');
    const ex = b.build({ seed: 7 });
    const log: string[] = [];
    const engines: InferenceEngine[] = [];
    try {
      const first = await createInferenceEngine('onnx', ex, ['relu1', 'fire2'], { cacheDir: dir });
      engines.push(first);
      const model = first.describe().model!;
      fs.writeFileSync(model, Buffer.alloc(fs.statSync(model).size, 0xab));
      const second = await createInferenceEngine('onnx', ex, ['relu1', 'fire2'], { cacheDir: dir, log: (l) => log.push(l) });
      engines.push(second);
      expect(second.describe()).toMatchObject({ model, reused: false });
      expect(log).toHaveLength(1);
      expect(log[0]).toContain(`cached model ${model} failed its check (SHA-256`);
      expect(log[0]).toContain('re-exporting');
      expect(await compareEngines(second, first, [1, 3, 64, 64], 3)).toBe(0);
      // the repaired model is reused from then on
      const third = await createInferenceEngine('onnx', ex, ['relu1', 'fire2'], { cacheDir: dir });
      engines.push(third);
      expect(third.describe().reused).toBe(true);
    } finally {
      for (const e of engines) await e.dispose();
      ex.dispose();
    }
  });

  it('takes pretrained weights from the file in the provenance, and a cached model needs no file at all', async () => {
    const b = byId('alexnet');
    const sd = randomWeightsWithBn(b, 9);
    const file = path.join(tmp, 'alexnet.safetensors');
    await writeSafetensors(file, sd);
    const ex = b.build({ weights: sd, weightsSource: { file, sha256: 'f'.repeat(64) } });
    const dir = path.join(tmp, 'cache-file');
    const engines: InferenceEngine[] = [];
    try {
      const first = await createInferenceEngine('onnx', ex, ['paper'], { cacheDir: dir });
      engines.push(first);
      const tfjs = await createInferenceEngine('tfjs', ex, ['paper']);
      expect(await compareEngines(first, tfjs, [2, 3, 67, 64], 4)).toBeLessThanOrEqual(1e-4);
      fs.rmSync(file);
      // keyed by the checkpoint's SHA-256: found without reading the (now missing) file
      const second = await createInferenceEngine('onnx', ex, ['paper'], { cacheDir: dir });
      engines.push(second);
      expect(second.describe().reused).toBe(true);
      expect(await compareEngines(second, tfjs, [1, 3, 64, 64], 5)).toBeLessThanOrEqual(1e-4);
    } finally {
      for (const e of engines) await e.dispose();
      ex.dispose();
    }
  });

  it('has dynamic batch, height and width, in NCHW and NHWC; uses every core by default', async () => {
    const b = byId('resnet18');
    const sd = randomWeightsWithBn(b, 2);
    const ex = b.build({ weights: sd });
    const engines: InferenceEngine[] = [];
    try {
      for (const layout of ['nchw', 'nhwc'] as const) {
        const onnx = await createInferenceEngine('onnx', ex, ['paper'], { weights: sd, cacheDir: null, layout });
        const tfjs = await createInferenceEngine('tfjs', ex, ['paper'], { layout });
        engines.push(onnx);
        expect(onnx.describe().threads).toBe(coreCount());
        const shapes =
          layout === 'nchw'
            ? [
                [1, 3, 64, 64],
                [3, 3, 45, 51],
                [2, 3, 33, 40],
              ]
            : [
                [1, 64, 64, 3],
                [2, 45, 51, 3],
              ];
        for (const [i, s] of shapes.entries()) {
          const err = await compareEngines(onnx, tfjs, s, 20 + i);
          console.log(`resnet18 ${layout} [${s.join(', ')}]: max rel ${err.toExponential(1)}`);
          expect(err).toBeLessThanOrEqual(1e-4);
        }
      }
    } finally {
      for (const e of engines) await e.dispose();
      ex.dispose();
    }
  });

  it('BatchNorm with batch statistics (train mode) matches the executor', async () => {
    const b = byId('vgg16_bn');
    const sd = randomWeightsWithBn(b, 3);
    const shape = [2, 3, 40, 36];
    const x = randomInput(shape as [number, number, number, number], 8);
    const pts = b.resolvePoints(['relu2_2', 'relu3_3']);
    const outputs = pts.map((p) => ({ name: p.name, node: p.node }));
    const got = await runOnnx(b.graph(), sd, outputs, x, shape, { batchNorm: 'train' });
    const ex = b.build({ weights: sd });
    const tfjs = await createInferenceEngine('tfjs', ex, ['relu2_2', 'relu3_3'], { batchNorm: 'train' });
    const evalRun = await runOnnx(b.graph(), sd, outputs, x, shape);
    try {
      const ref = await tfjs.run({ data: x, shape });
      pts.forEach((p, i) => {
        const e = relErr(got[i].data, ref.get(p.name)!.data);
        console.log(`vgg16_bn train-mode BN ${p.name}: max rel ${e.rel.toExponential(1)}`);
        expect(e.rel).toBeLessThanOrEqual(1e-4);
        // and the mode matters: eval statistics give other features
        expect(relErr(evalRun[i].data, ref.get(p.name)!.data).rel).toBeGreaterThan(1e-2);
      });
    } finally {
      ex.dispose();
    }
  });

  it('checks the input: channels and the minimum size are named', async () => {
    const b = byId('alexnet');
    const ex = b.build({ seed: 1 });
    const onnx = await createInferenceEngine('onnx', ex, ['relu5'], { cacheDir: null });
    try {
      await expect(onnx.run({ data: new Float32Array(4 * 64 * 64), shape: [1, 4, 64, 64] })).rejects.toThrow(/3 channels/);
      await expect(onnx.run({ data: new Float32Array(3 * 16 * 16), shape: [1, 3, 16, 16] })).rejects.toThrow(/relu5/);
    } finally {
      await onnx.dispose();
      ex.dispose();
    }
  });

  it('engine-backed perceptual distances equal the tfjs distance (baseline and lin), without leaking tensors', async () => {
    const b = byId('squeezenet1_1');
    const ex = b.build({ seed: 3 });
    const points = ['relu1', 'fire2', 'fire5', 'fire9'];
    const input = { range: '[0,1]' as const, normalize: 'imagenet' as const };
    const lin = new Map(points.map((p, i) => [p, Float32Array.from({ length: b.point(p).channels }, (_, c) => ((c * 7 + i) % 5) / 4)]));
    for (const variant of ['baseline', 'lin'] as const) {
      const distance = new PerceptualDistance({ extractor: ex, points, input, variant, linWeights: variant === 'lin' ? lin : undefined });
      const ed = await createEngineDistance('onnx', distance, { cacheDir: null });
      try {
        expect(ed.engine.name).toBe('onnx');
        const a = tf.randomUniform([3, 48, 52, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
        const c = tf.randomUniform([3, 48, 52, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
        const before = tf.memory().numTensors;
        const ref = distance.compute(a, c);
        const got = await ed.compute(a, c);
        const fa = await ed.features(a);
        const viaRef = await ed.computeWithReference(fa, c);
        const e1 = relErr((await got.data()) as Float32Array, (await ref.data()) as Float32Array);
        const e2 = relErr((await viaRef.data()) as Float32Array, (await ref.data()) as Float32Array);
        console.log(`squeezenet1_1 ${variant} distance: max rel ${Math.max(e1.rel, e2.rel).toExponential(1)}`);
        expect(e1.rel).toBeLessThanOrEqual(1e-4);
        expect(e2.rel).toBeLessThanOrEqual(1e-4);
        tf.dispose([ref, got, viaRef, ...fa.values()]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([a, c]);
      } finally {
        await ed.dispose();
        distance.dispose();
      }
    }
    ex.dispose();
  });
});

describe('engine choice without onnxruntime or with gradients', () => {
  it("DPL_NO_ONNX=1: 'auto' is tfjs with a notice, 'onnx' fails naming the reason", async () => {
    const b = byId('alexnet');
    const ex = b.build({ seed: 1 });
    const saved = process.env.DPL_NO_ONNX;
    process.env.DPL_NO_ONNX = '1';
    try {
      const auto = await createInferenceEngine('auto', ex, ['relu1']);
      expect(auto.name).toBe('tfjs');
      expect(auto.notice).toMatch(/^engine: tfjs \(onnxruntime unavailable: disabled by DPL_NO_ONNX=1\)$/);
      expect(auto.describe()).toEqual({ name: 'tfjs', notice: auto.notice });
      await expect(createInferenceEngine('onnx', ex, ['relu1'])).rejects.toThrow(/engine onnx is not available: disabled by DPL_NO_ONNX=1/);
    } finally {
      if (saved === undefined) delete process.env.DPL_NO_ONNX;
      else process.env.DPL_NO_ONNX = saved;
      ex.dispose();
    }
  });

  it("a path that needs gradients gets tfjs from 'auto' and an error from 'onnx'", async () => {
    const b = byId('alexnet');
    const ex = b.build({ seed: 1 });
    try {
      const auto = await createInferenceEngine('auto', ex, ['relu1'], { needsGradients: true });
      expect(auto.name).toBe('tfjs');
      expect(auto.notice).toBeNull();
      await expect(createInferenceEngine('onnx', ex, ['relu1'], { needsGradients: true })).rejects.toThrow(/cannot differentiate/);
      await expect(createInferenceEngine('fast' as never, ex, ['relu1'])).rejects.toThrow(/use one of: auto, tfjs, onnx/);
    } finally {
      ex.dispose();
    }
  });
});
