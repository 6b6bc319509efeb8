/**
 * One comparison in the worker, on core's code: the network from its family's graph, the weights
 * through core's readers (bytes in), PerceptualDistance and core's EngineDistance (float64 spatial
 * means, as `dpl similarity` on tfjs), and a record of the same form as `dpl similarity --json`.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  configError,
  EngineDistance,
  expectBackbone,
  inputError,
  LPIPS_POINTS,
  lpipsBackbone,
  lpipsLinFileByHash,
  lpipsLinFromStateDict,
  memoryWeights,
  PerceptualDistance,
  readWeightsFrom,
  type BuildOptions,
  type FeatureExtractor,
  type GraphBackbone,
  type InferenceEngine,
  type PerceptualNormalization,
} from '@dpl/core';
import { weightsRecord } from '../../../tasks/similarity/src/cli/provenance';
import type { CompareRequest, CompareResult, DecodedImage, LayerShare, NamedBytes } from '../protocol';
import { useBackend } from './backend';
import { backbones } from './families';
import { openZipInMemory } from './zip';

/** The largest image the page compares (per image): above it the browser's memory, not the network, gives out. */
export const MAX_PAGE_PIXELS = 4096 * 4096;

async function sha256(bytes: ArrayBuffer): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A state_dict from a file's bytes; with a backbone, its keys and shapes are checked before the data is read. */
const readState = (f: NamedBytes, b?: GraphBackbone) =>
  readWeightsFrom(memoryWeights(f.name, new Uint8Array(f.bytes)), b ? { expect: expectBackbone(b, f.name) } : {}, openZipInMemory);

interface Plan {
  backbone: GraphBackbone;
  points: string[];
  normalize: PerceptualNormalization;
  lpips: { net: string; version: string; lin: boolean } | null;
  lin: { weights: Map<string, Float32Array>; file: string; sha256: string; pretrained: boolean } | null;
}

async function plan(req: CompareRequest): Promise<Plan> {
  const m = req.mode;
  const all = backbones();
  if (m.kind === 'lpips') {
    const id = lpipsBackbone(m.net);
    const backbone = all.get(id)!;
    const points = [...LPIPS_POINTS[id].points];
    let lin: Plan['lin'] = null;
    if (m.lin) {
      if (!req.lin)
        throw configError(
          `LPIPS ${m.net} v${m.version}`,
          'needs its lin file',
          `drop LPIPS' weights/v${m.version}/${m.net}.pth here, or untick "lin"`,
        );
      lin = await readLin(req.lin, id);
    }
    return {
      backbone,
      points,
      normalize: m.version === '0.1' ? 'lpips' : 'signed',
      lpips: { net: m.net, version: m.version, lin: m.lin },
      lin,
    };
  }
  const backbone = all.get(m.backbone);
  if (!backbone)
    throw configError(`backbone '${m.backbone}'`, 'is not offered by the page', `choose one of: ${[...all.keys()].join(', ')}`);
  let lin: Plan['lin'] = null;
  if (m.variant === 'lin') {
    if (!req.lin)
      throw configError('variant lin', 'needs a lin file', "drop LPIPS' weights/v0.1/<net>.pth, or choose the baseline variant");
    lin = await readLin(req.lin, backbone.id);
  }
  const spec = m.points.trim() || (lin ? [...LPIPS_POINTS[lpipsBackbone(backbone.id)].points] : 'paper');
  const points = backbone.resolvePoints(spec).map((p) => p.name);
  return { backbone, points, normalize: m.normalize, lpips: null, lin };
}

async function readLin(f: NamedBytes, backboneId: string): Promise<NonNullable<Plan['lin']>> {
  const sd = await readState(f);
  const lp = lpipsLinFromStateDict(sd, backboneId, f.name);
  const sha = await sha256(f.bytes);
  return { weights: lp.weights, file: f.name, sha256: sha, pretrained: Boolean(lpipsLinFileByHash(sha)) };
}

async function buildOptions(req: CompareRequest, b: GraphBackbone): Promise<BuildOptions> {
  const w = req.weights;
  if (w.kind === 'random') return { seed: w.seed };
  const sd = await readState(w.file, b);
  return { weights: sd, weightsSource: { file: w.file.name, sha256: await sha256(w.file.bytes) } };
}

/** The tfjs engine: the executor in this worker (what `dpl similarity --engine tfjs` runs). */
function tfjsEngine(points: string[]): InferenceEngine {
  return {
    name: 'tfjs',
    layout: 'nhwc',
    points,
    notice: null,
    run: () => Promise.reject(new Error('the tfjs engine computes features through the distance')),
    describe: () => ({ name: 'tfjs', notice: null }),
    dispose: async () => {},
  };
}

function checkImage(img: DecodedImage): void {
  if (img.width * img.height > MAX_PAGE_PIXELS) {
    throw inputError(
      img.name,
      `is too large for the page (${img.width}x${img.height}, ${img.width * img.height} pixels; the page takes up to ${MAX_PAGE_PIXELS})`,
      'downscale it, or compare it with `dpl similarity` on the command line',
    );
  }
}

const toTensor = (img: DecodedImage) => tf.tensor4d(img.data, [1, img.height, img.width, 3]);

export async function compare(req: CompareRequest, progress: (text: string) => void): Promise<CompareResult> {
  const start = performance.now();
  if (!req.pairs.length) throw inputError('images', 'none chosen', 'choose two images, or two folders of same-named images');
  for (const p of req.pairs) {
    checkImage(p.a);
    checkImage(p.b);
    if (p.a.width !== p.b.width || p.a.height !== p.b.height) {
      throw inputError(
        `${p.a.name} and ${p.b.name}`,
        `have different sizes (${p.a.width}x${p.a.height} and ${p.b.width}x${p.b.height})`,
        'compare images of the same size',
      );
    }
  }
  const backend = await useBackend(req.backend);
  progress('reading weights');
  const pl = await plan(req);
  const build = await buildOptions(req, pl.backbone);
  progress(`building ${pl.backbone.id}`);
  const extractor: FeatureExtractor = pl.backbone.build(build);
  let distance: PerceptualDistance | null = null;
  let single: CompareResult['single'] = null;
  const pairs: { name: string; distance: number }[] = [];
  let mapInfo: { file: string; max: number; shape: number[] } | null = null;
  let loopStart = start;
  try {
    distance = new PerceptualDistance({
      extractor,
      points: pl.points,
      input: { range: '[0,1]', normalize: pl.normalize },
      variant: pl.lin ? 'lin' : 'baseline',
      linWeights: pl.lin?.weights,
      linSource: pl.lin?.file,
    });
    const engine = new EngineDistance(distance, tfjsEngine(distance.points));
    loopStart = performance.now();
    for (const [i, p] of req.pairs.entries()) {
      progress(req.pairs.length > 1 ? `pair ${i + 1} of ${req.pairs.length}: ${p.name}` : `comparing on ${backend.name}`);
      const x = toTensor(p.a);
      const y = toTensor(p.b);
      try {
        if (req.pairs.length > 1) {
          pairs.push({ name: p.name, distance: finite((await engine.distances(x, y))[0], p.name) });
          continue;
        }
        const maps = await engine.spatialMaps(x, y);
        try {
          const layers: LayerShare[] = [];
          for (const [k, pt] of distance.points.entries()) {
            const data = (await maps.points.get(pt)!.data()) as Float32Array;
            let acc = 0;
            for (const v of data) acc += v;
            layers.push({ point: pt, distance: (distance.pointWeights[k] * acc) / data.length });
          }
          const data = (await maps.combined.data()) as Float32Array;
          let max = 0;
          for (const v of data) if (v > max) max = v;
          const d = finite(maps.distances[0], p.name);
          single = { distance: d, layers, map: { width: p.a.width, height: p.a.height, data, max } };
          mapInfo = { file: 'distance-map.npy', max, shape: [p.a.height, p.a.width] };
        } finally {
          tf.dispose([maps.combined, ...maps.points.values()]);
        }
      } finally {
        tf.dispose([x, y]);
      }
    }
  } finally {
    distance?.dispose();
    extractor.dispose();
  }
  const record = distance.describe();
  const weights = weightsRecord(extractor.provenance, pl.backbone);
  const seconds = (performance.now() - start) / 1000;
  const common = {
    lpips: pl.lpips,
    backbone: pl.backbone.id,
    points: distance.points,
    variant: record.variant,
    linWeights: pl.lin ? { file: pl.lin.file, sha256: pl.lin.sha256, pretrained: pl.lin.pretrained } : null,
    input: record.input,
    engine: { name: 'tfjs', notice: null },
    randomWeights: weights.kind === 'random',
    weights,
    seconds,
    pairSeconds: (performance.now() - loopStart) / 1000,
    record,
  };
  let out: Record<string, unknown>;
  if (single) {
    out = { distance: single.distance, a: req.pairs[0].a.name, b: req.pairs[0].b.name, map: mapInfo, ...common };
  } else {
    const ds = pairs.map((r) => r.distance);
    const mean = ds.reduce((s, d) => s + d, 0) / ds.length;
    const std = Math.sqrt(ds.reduce((s, d) => s + (d - mean) ** 2, 0) / ds.length);
    out = { pairs, mean, std, out: null, ...common };
  }
  return { record: out, single, pairs: single ? null : pairs, backend, tensors: tf.memory().numTensors };
}

function finite(d: number, name: string): number {
  if (!Number.isFinite(d)) {
    throw inputError(name, `the distance is ${d}`, 'check the loss network and lin weights for NaN or infinite values, and the images');
  }
  return d;
}
