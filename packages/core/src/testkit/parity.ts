/**
 * The parity harness every backbone family's test calls: features of dpl's graph against
 * torchvision's at the study's module indices, with seeded random weights and randomised BatchNorm
 * statistics (tools/parity/torch_features.py). Criterion per point: max |ours - torch| <= 1e-4 *
 * max |torch|.
 *
 * The default run keeps each family's test cheap: the networks `quick` selects, at the given sizes,
 * read from a zip .pth on the tfjs executor, and one network's checkpoint also read as a legacy
 * .pth and as safetensors and run on the onnx engine. DPL_PARITY_FULL=1 runs the whole matrix:
 * every network, the given sizes plus torchvision's default input, every format and both engines.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';
import type { Backbone, ExtractionPoint } from '../contracts/backbone';
import { readInputTensor } from '../image/io';
import { createInferenceEngine } from '../onnx/engine';
import { loadOnnxRuntime } from '../onnx/runtime';
import { readNpy } from '../weights/npy';
import { readWeights } from '../weights/read-weights';
import { fixtureFormats, relativeMaxError, torchAvailable, torchFixture, type Fixture } from './torch-reference';

export type Size = [number, number];

/** A reference array: NCHW data as torch wrote it. */
export interface RefArray {
  data: Float32Array;
  shape: number[];
}

/** What an `extra` check gets for one network at one size. */
export interface ParityContext {
  backbone: Backbone;
  fixture: Fixture;
  size: Size;
  /** Every compared point and every extra point, NHWC, from the zip .pth on the tfjs executor. */
  features: Map<string, tf.Tensor4D>;
  /** A torch .npy (NCHW). */
  npy(file: string): RefArray;
  /**
   * Checks an NHWC feature against a torch NCHW reference (with `leading`, against the reference's
   * first channels) and records the error; throws when the shapes differ or the error is over 1e-4.
   */
  compare(label: string, ours: tf.Tensor4D, ref: RefArray, leading?: boolean): Promise<void>;
}

export interface ParityOptions {
  /** The family's networks. */
  backbones: Backbone[];
  /**
   * Points compared per network, each with a study index or (networks outside the study) a
   * torchModule. Default: the paper points, or the default points of a network outside the study.
   */
  points?: (b: Backbone) => string[];
  /** Input sizes: an even one, then odd ones. Default 64x64 and 67x75. */
  sizes?: Size[] | ((b: Backbone) => Size[]);
  /** Added with DPL_PARITY_FULL=1: torchvision's default input (default 224x224). */
  defaultSize?: (b: Backbone) => Size;
  /** The networks of the default run (default: all); the others run with DPL_PARITY_FULL=1. */
  quick?: (b: Backbone) => boolean;
  /** Why the others wait (printed with the skip). */
  slowReason?: string;
  /** The network whose checkpoint formats and onnx engine the default run checks (default: the first quick one). */
  formatsOn?: string;
  /** state_dict prefixes left out of the fixture checkpoint (default: classifier. and fc.). */
  dropPrefixes?: string[];
  /** Points the module list cannot reach: extracted with the others and checked by `check`. */
  extra?: {
    points: (b: Backbone) => string[];
    /** Runs once per network and fixture before the checks (e.g. writes more references into fixture.dir). */
    prepare?: (b: Backbone, fx: Fixture, sizes: Size[]) => void;
    check: (c: ParityContext) => Promise<void>;
  };
  /** Layout of torchvision's 4-D module outputs for torchModule points: 'nhwc' for Swin (default 'nchw'). */
  torchLayout?: 'nchw' | 'nhwc';
  /** Per-case timeout in ms (default 300000: a first run builds the torch fixtures). */
  timeout?: number;
}

/** One jest case: `for (const c of backboneParity(o)) (c.skip ? it.skip : it)(c.name, c.run, c.timeout)`. */
export interface ParityCase {
  name: string;
  run: () => Promise<void>;
  /** Why it does not run (already printed); undefined when it runs. */
  skip?: string;
  timeout: number;
}

const FULL = process.env.DPL_PARITY_FULL === '1';

/** An .npy file as a reference array. */
export function npyRef(file: string): RefArray {
  const a = readNpy(fs.readFileSync(file), file);
  return { data: Float32Array.from(a.data as ArrayLike<number>), shape: a.shape };
}

/** The first n bytes of a file (checkpoints may exceed what readFileSync can hold). */
function firstBytes(file: string, n: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    fs.readSync(fd, b, 0, n, 0);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

/** The first `c` channels of an NCHW array. */
function leadingChannels(ref: RefArray, c: number): RefArray {
  const [n, full, h, w] = ref.shape;
  const plane = h * w;
  const out = new Float32Array(n * c * plane);
  for (let i = 0; i < n; i++) out.set(ref.data.subarray(i * full * plane, (i * full + c) * plane), i * c * plane);
  return { data: out, shape: [n, c, h, w] };
}

/** Checks `ours` (NCHW) against `ref` and records the error in `report`; throws past the criterion. */
function check(label: string, ours: RefArray, ref: RefArray, report: string[]): void {
  if (ours.shape.join('x') !== ref.shape.join('x'))
    throw new Error(`${label}: shape ${ours.shape.join('x')}, torch ${ref.shape.join('x')}`);
  const err = relativeMaxError(ours.data, ref.data);
  const line = `${label}: rel ${err.rel.toExponential(2)} (max abs ${err.maxAbs.toExponential(2)}, max |torch| ${err.maxRef.toPrecision(3)})`;
  report.push(line);
  if (!(err.rel <= 1e-4)) throw new Error(`${line} exceeds 1e-4\n${report.join('\n')}`);
}

async function nchw(x: tf.Tensor4D): Promise<RefArray> {
  const t = tf.transpose(x, [0, 3, 1, 2]);
  const data = (await t.data()) as Float32Array;
  const shape = t.shape;
  t.dispose();
  return { data, shape };
}

/** The parity cases of a family; skipped ones print why once. */
export function backboneParity(o: ParityOptions): ParityCase[] {
  const torch = torchAvailable();
  const timeout = o.timeout ?? 300_000;
  const pointsOf = (b: Backbone): ExtractionPoint[] => {
    const pts = o.points ? o.points(b).map((n) => b.point(n)) : b.points().filter((p) => p.paper);
    const byIndex = pts.every((p) => p.studyIndex !== undefined);
    const bad = pts.filter((p) => (byIndex ? p.studyIndex : p.torchModule) === undefined).map((p) => p.name);
    if (bad.length) throw new Error(`${b.id}: points ${bad.join(', ')} have no study index nor torchModule; compare them through extra`);
    return pts;
  };
  /** Where torch saved a point: its study index when every point has one, else its module name. */
  const refOf = (b: Backbone, p: ExtractionPoint): number | string => {
    const pts = pointsOf(b);
    return pts.every((q) => q.studyIndex !== undefined) ? p.studyIndex! : p.torchModule!;
  };
  const sizesOf = (b: Backbone): Size[] => {
    const given =
      typeof o.sizes === 'function'
        ? o.sizes(b)
        : (o.sizes ?? [
            [64, 64],
            [67, 75],
          ]);
    return FULL ? [...given, o.defaultSize?.(b) ?? [224, 224]] : given;
  };
  const fixtureOf = (b: Backbone): Fixture => {
    const pts = pointsOf(b);
    const byIndex = pts.every((p) => p.studyIndex !== undefined);
    const fx = torchFixture({
      model: b.id,
      ...(byIndex
        ? { indices: pts.map((p) => p.studyIndex!) }
        : { modules: [...new Set(pts.map((p) => p.torchModule!))], layout: o.torchLayout }),
      sizes: sizesOf(b),
      dropPrefixes: o.dropPrefixes,
    });
    o.extra?.prepare?.(b, fx, sizesOf(b));
    return fx;
  };
  const family = o.backbones[0]?.family ?? 'backbone';
  if (!torch.ok) {
    console.warn(`SKIPPED ${family} parity tests: ${torch.reason}`);
    return o.backbones.map((b) => ({ name: b.id, run: async () => undefined, skip: torch.reason, timeout }));
  }

  const quick = o.backbones.filter((b) => o.quick?.(b) ?? true);
  const slow = o.backbones.filter((b) => !quick.includes(b));
  const slowWhy = `set DPL_PARITY_FULL=1 to run them${o.slowReason ? ` (${o.slowReason})` : ''}`;
  if (!FULL && slow.length) console.warn(`SKIPPED ${family} parity for ${slow.map((b) => b.id).join(', ')}: ${slowWhy}`);
  const formatsNet = o.backbones.find((b) => b.id === o.formatsOn) ?? quick[0];
  const formatNets = FULL ? o.backbones : formatsNet ? [formatsNet] : [];
  const ort = loadOnnxRuntime();
  if (!ort.ok) console.warn(`SKIPPED ${family} parity on the onnx engine: ${ort.reason}`);

  const tfjsCase = (b: Backbone): ParityCase => ({
    name: b.id,
    timeout,
    skip: FULL || quick.includes(b) ? undefined : slowWhy,
    run: async () => {
      const pts = pointsOf(b);
      const fx = fixtureOf(b);
      const names = [...pts.map((p) => p.name), ...(o.extra?.points(b) ?? [])];
      const extractor = b.build({ weights: await readWeights(fx.weights), weightsSource: { file: fx.weights } });
      const report: string[] = [];
      try {
        for (const size of sizesOf(b)) {
          const [h, w] = size;
          const x = await readInputTensor(fx.input(h, w));
          const features = extractor.extract(x, names);
          try {
            for (const p of pts) {
              const paper = p.paper ? ' (paper)' : '';
              check(
                `${b.id} ${p.name} [${refOf(b, p)}]${paper} @${h}x${w}`,
                await nchw(features.get(p.name)!),
                npyRef(fx.feature(h, w, refOf(b, p))),
                report,
              );
            }
            await o.extra?.check({
              backbone: b,
              fixture: fx,
              size,
              features,
              npy: npyRef,
              compare: async (label, ours, ref, leading) => {
                const got = await nchw(ours);
                if (leading && !(got.shape[1] < ref.shape[1]))
                  throw new Error(`${label}: ${got.shape[1]} channels are not a leading part of ${ref.shape[1]}`);
                check(`${b.id} ${label} @${h}x${w}`, got, leading ? leadingChannels(ref, got.shape[1]) : ref, report);
              },
            });
          } finally {
            tf.dispose([x, ...features.values()]);
          }
        }
      } finally {
        extractor.dispose();
      }
      console.log(report.join('\n'));
    },
  });

  const formatsCase = (b: Backbone): ParityCase => ({
    name: `${b.id}: the checkpoint read as a legacy .pth and as safetensors`,
    timeout,
    run: async () => {
      const pts = pointsOf(b);
      const fx = fixtureOf(b);
      const files = fixtureFormats(fx);
      const [h, w] = sizesOf(b)[0];
      const report: string[] = [];
      // a pre-1.6 file is a bare pickle, not a zip: the other reader really runs
      if (firstBytes(files.legacy, 2).toString('hex') !== '8002') throw new Error(`${files.legacy} is not a legacy .pth`);
      for (const [format, file] of Object.entries(files)) {
        const extractor = b.build({ weights: await readWeights(file), weightsSource: { file } });
        const x = await readInputTensor(fx.input(h, w));
        const features = extractor.extract(
          x,
          pts.map((p) => p.name),
        );
        try {
          for (const p of pts)
            check(
              `${b.id} ${format} ${p.name} @${h}x${w}`,
              await nchw(features.get(p.name)!),
              npyRef(fx.feature(h, w, refOf(b, p))),
              report,
            );
        } finally {
          tf.dispose([x, ...features.values()]);
          extractor.dispose();
        }
      }
      console.log(report.join('\n'));
    },
  });

  const onnxCase = (b: Backbone): ParityCase => ({
    name: `${b.id}: the onnx engine`,
    timeout,
    skip: ort.ok ? undefined : ort.reason,
    run: async () => {
      const pts = pointsOf(b);
      const fx = fixtureOf(b);
      const sd = await readWeights(fx.weights);
      const extractor = b.build({ weights: sd, weightsSource: { file: fx.weights } });
      const names = pts.map((p) => p.name);
      const engine = await createInferenceEngine('onnx', extractor, names, { weights: sd, cacheDir: null, threads: 1 });
      const report: string[] = [];
      try {
        if (engine.name !== 'onnx') throw new Error(`engine ${engine.name} ran, not onnx`);
        for (const [h, w] of sizesOf(b)) {
          const input = npyRef(fx.input(h, w));
          const out = await engine.run(input);
          for (const p of pts) check(`${b.id} onnx ${p.name} @${h}x${w}`, out.get(p.name)!, npyRef(fx.feature(h, w, refOf(b, p))), report);
        }
      } finally {
        await engine.dispose();
        extractor.dispose();
      }
      console.log(report.join('\n'));
    },
  });

  return [...o.backbones.map(tfjsCase), ...formatNets.flatMap((b) => [formatsCase(b), onnxCase(b)])];
}
