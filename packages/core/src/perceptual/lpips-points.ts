/**
 * LPIPS v0.1 linear-layer checkpoints (Zhang et al. 2018: the official alex.pth / vgg.pth /
 * squeeze.pth): a small state_dict `lin<i>.model.1.weight` of shape [1, C_i, 1, 1], one per
 * compared layer (model.0 is the Dropout before the 1x1 conv). lin i weights the i-th layer LPIPS
 * taps, which are the outputs of torchvision's `features` at the ends of LPIPS's slices.
 */
import { weightsError } from '../errors';
import type { StateDict } from '../weights/state-dict';

/** The points LPIPS reads from one network: dpl names, channels, torchvision indices and LPIPS's net name. */
export interface LpipsPointTable {
  /** dpl point names, in lin order. */
  points: readonly string[];
  /** Channels of each point (= the length of its lin weights). */
  channels: readonly number[];
  /** The torchvision `features` child index each point reads (the LPIPS slice ends - 1). */
  torchIndices: readonly number[];
  /** The network name LPIPS uses (`lpips.LPIPS(net=...)`, the checkpoint's file name). */
  lpipsNet: string;
}

/**
 * The layers LPIPS compares, per backbone. alexnet: slices [0:2], [2:5], [5:8], [8:10], [10:12];
 * vgg16: [0:4], [4:9], [9:16], [16:23], [23:30]; squeezenet1_1: [0:2], [2:5], [5:8], [8:10],
 * [10:11], [11:12], [12:13] (conv1's ReLU and the Fire modules 3, 5, 6, 7, 8, 9).
 */
export const LPIPS_POINTS = {
  alexnet: {
    points: ['relu1', 'relu2', 'relu3', 'relu4', 'relu5'],
    channels: [64, 192, 384, 256, 256],
    torchIndices: [1, 4, 7, 9, 11],
    lpipsNet: 'alex',
  },
  vgg16: {
    points: ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3', 'relu5_3'],
    channels: [64, 128, 256, 512, 512],
    torchIndices: [3, 8, 15, 22, 29],
    lpipsNet: 'vgg',
  },
  squeezenet1_1: {
    points: ['relu1', 'fire3', 'fire5', 'fire6', 'fire7', 'fire8', 'fire9'],
    channels: [64, 128, 256, 384, 384, 512, 512],
    torchIndices: [1, 4, 7, 9, 10, 11, 12],
    lpipsNet: 'squeeze',
  },
} as const satisfies Record<string, LpipsPointTable>;

/** A backbone LPIPS has linear weights for. */
export type LpipsBackboneId = keyof typeof LPIPS_POINTS;

/** Calibrated channel weights for a backbone's LPIPS points, ready for PerceptualDistance. */
export interface LpipsLinWeights {
  backbone: LpipsBackboneId;
  /** The file they were read from (provenance). */
  source: string;
  /** LPIPS_POINTS[backbone].points. */
  points: string[];
  weights: Map<string, Float32Array>;
}

/** Resolves a dpl backbone id or an LPIPS net name (alex, vgg, squeeze). */
export function lpipsBackbone(id: string): LpipsBackboneId {
  if (id in LPIPS_POINTS) return id as LpipsBackboneId;
  const byNet = (Object.keys(LPIPS_POINTS) as LpipsBackboneId[]).find((k) => LPIPS_POINTS[k].lpipsNet === id);
  if (byNet) return byNet;
  throw weightsError(
    `LPIPS backbone '${id}'`,
    'has no LPIPS linear layers',
    `use one of: ${Object.keys(LPIPS_POINTS).join(', ')} (LPIPS names: alex, vgg, squeeze)`,
  );
}

const linKey = (i: number) => `lin${i}.model.1.weight`;

/** Maps an LPIPS lin state_dict to point weights; throws naming every missing, extra or malformed key. */
export function lpipsLinFromStateDict(sd: StateDict, backboneId: string, source: string): LpipsLinWeights {
  const backbone = lpipsBackbone(backboneId);
  const table = LPIPS_POINTS[backbone];
  const problems: string[] = [];
  const weights = new Map<string, Float32Array>();
  const expected = table.points.map((_, i) => linKey(i));
  table.points.forEach((point, i) => {
    const rec = sd.get(linKey(i));
    const c = table.channels[i];
    if (!rec) {
      problems.push(`missing ${linKey(i)} (expected [1, ${c}, 1, 1] for point ${point})`);
      return;
    }
    const [o, ci, kh, kw, ...rest] = rec.shape;
    if (rec.shape.length !== 4 || o !== 1 || kh !== 1 || kw !== 1 || rest.length) {
      problems.push(`${linKey(i)} has shape [${rec.shape.join(', ')}], expected [1, ${c}, 1, 1]`);
      return;
    }
    if (ci !== c) {
      problems.push(`${linKey(i)} has ${ci} channels, but ${backbone} point ${point} has ${c}`);
      return;
    }
    const bad = rec.data.findIndex((v) => !(v >= 0) || !Number.isFinite(v));
    if (bad >= 0) {
      problems.push(`${linKey(i)} has weight ${rec.data[bad]} at channel ${bad}: LPIPS weights are finite and non-negative`);
      return;
    }
    weights.set(point, Float32Array.from(rec.data));
  });
  const extra = [...sd.keys()].filter((k) => !expected.includes(k));
  if (extra.length) problems.push(`unexpected keys: ${extra.join(', ')}`);
  if (problems.length) {
    throw weightsError(
      source,
      `is not an LPIPS v0.1 linear-layer checkpoint for ${backbone} (${table.points.length} layers):\n  ${problems.join('\n  ')}`,
      `pass LPIPS's weights/v0.1/${table.lpipsNet}.pth for ${backbone}, or the checkpoint of the backbone it was trained for`,
    );
  }
  return { backbone, source, points: [...table.points], weights };
}
