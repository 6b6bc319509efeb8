/**
 * A deterministic synthetic BAPPS: procedural textures, distortions of known strength, and human
 * judgements simulated from those strengths, written in BAPPS' real on-disk layout (layout.ts) so
 * the loader, the task and the CLI run on it exactly as on the real data. For tests and the
 * offline demo; its scores say nothing about a network's real perceptual quality.
 *
 * 2AFC: p0 and p1 are the reference distorted with strengths s0 and s1 (drawn from the split's
 * distortion families); judge = the fraction preferring p1 = logistic(JUDGE_SLOPE * (s0 - s1)).
 * JND: p1 is p0 distorted with strength s (exactly p0 for a fraction of the pairs);
 * same = logistic(-SAME_SLOPE * (s - SAME_THRESHOLD)).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configError, hashSeed, mulberry32, writeNpy, writePng, type ProgressReporter } from '@dpl/core';
import {
  BAPPS_SIZE,
  JND_VAL_SPLITS,
  SPLIT_FOLDERS,
  TWO_AFC_TRAIN_SPLITS,
  TWO_AFC_VAL_SPLITS,
  splitDir,
  type BappsKind,
  type BappsPhase,
} from './layout';
import { distortChain, logistic, proceduralTexture, quantise, type DistortionKind, type Picture, type Rand } from './procedural';

export const JUDGE_SLOPE = 6;
const SAME_SLOPE = 20;
const SAME_THRESHOLD = 0.12;
/** Fraction of JND pairs whose p1 is an exact copy of p0. */
const JND_IDENTICAL = 0.25;

/** The distortion chains each split draws from (a rough echo of what the real split holds). */
const TRADITIONAL: DistortionKind[][] = [['noise'], ['blur'], ['color'], ['blocking'], ['warp']];
const CNN: DistortionKind[][] = [
  ['blur', 'noise'],
  ['color', 'blocking'],
  ['warp', 'noise'],
  ['resample', 'color'],
];
const SPLIT_DISTORTIONS: Record<string, DistortionKind[][]> = {
  traditional: TRADITIONAL,
  cnn: CNN,
  mix: [...TRADITIONAL, ...CNN],
  superres: [['resample'], ['resample', 'blur'], ['resample', 'blocking']],
  deblur: [['blur'], ['blur', 'noise'], ['warp', 'blur']],
  color: [['color'], ['color', 'noise']],
  frameinterp: [['ghost'], ['warp'], ['ghost', 'blur']],
};

export interface SyntheticCounts {
  /** Triplets per 2AFC val split. */
  val: number;
  /** Triplets per 2AFC train split. */
  train: number;
  /** Pairs per JND val split. */
  jnd: number;
}

export interface SyntheticOptions {
  seed?: number;
  /** Image side in pixels (default 64, BAPPS' size; other sizes exercise the loader's resize). */
  size?: number;
  counts?: Partial<SyntheticCounts>;
  /** Told about every item written (generation takes ~50 ms per item). */
  progress?: ProgressReporter;
}

export const DEFAULT_SYNTHETIC_COUNTS: SyntheticCounts = { val: 4, train: 8, jnd: 6 };

export interface SyntheticManifest {
  generator: 'dpl-synthetic-bapps';
  version: 1;
  seed: number;
  size: number;
  counts: SyntheticCounts;
}

export const SYNTHETIC_MANIFEST = 'synthetic-bapps.json';

/** 6-digit ids as BAPPS names its files. */
const itemId = (i: number): string => String(i).padStart(6, '0');

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw configError(`synthetic count ${name} ${v}`, 'must be an integer >= 0');
}

function manifestOf(opts: SyntheticOptions): SyntheticManifest {
  const counts = { ...DEFAULT_SYNTHETIC_COUNTS, ...opts.counts };
  for (const [k, v] of Object.entries(counts)) checkCount(k, v);
  const size = opts.size ?? BAPPS_SIZE;
  if (!Number.isInteger(size) || size < 8) throw configError(`synthetic size ${size}`, 'must be an integer >= 8');
  return { generator: 'dpl-synthetic-bapps', version: 1, seed: opts.seed ?? 0, size, counts };
}

const pick = <T>(xs: readonly T[], rand: Rand): T => xs[Math.floor(rand() * xs.length)];

/** Strength of a visible distortion: never 0, so every 2AFC image differs from its reference. */
const strength = (rand: Rand) => 0.05 + 0.95 * rand();

const toImage = (p: Picture) => ({ width: p.size, height: p.size, data: p.data });

async function writeItem(dir: string, id: string, images: Record<string, Picture>, label: string, value: number): Promise<void> {
  await Promise.all([
    ...Object.entries(images).map(([folder, p]) => writePng(path.join(dir, folder, `${id}.png`), toImage(p))),
    fs.promises.writeFile(path.join(dir, label, `${id}.npy`), writeNpy([1], Float32Array.of(value))),
  ]);
}

function makeFolders(dir: string, kind: BappsKind): void {
  const f = SPLIT_FOLDERS[kind];
  for (const sub of [...f.images, f.label]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
}

/** One 2AFC triplet, a pure function of (seed, phase, split, index). */
export function syntheticTriplet(m: SyntheticManifest, phase: BappsPhase, split: string, i: number) {
  const rand = mulberry32(hashSeed(m.seed, `2afc/${phase}/${split}/${i}`));
  const ref = quantise(proceduralTexture(m.size, rand));
  const families = SPLIT_DISTORTIONS[split] ?? TRADITIONAL;
  const s0 = strength(rand);
  const s1 = strength(rand);
  const p0 = quantise(distortChain(ref, pick(families, rand), s0, rand));
  const p1 = quantise(distortChain(ref, pick(families, rand), s1, rand));
  return { ref, p0, p1, s0, s1, judge: Math.fround(logistic(JUDGE_SLOPE * (s0 - s1))) };
}

/** One JND pair, a pure function of (seed, split, index). */
export function syntheticJndPair(m: SyntheticManifest, split: string, i: number) {
  const rand = mulberry32(hashSeed(m.seed, `jnd/val/${split}/${i}`));
  const p0 = quantise(proceduralTexture(m.size, rand));
  const identical = rand() < JND_IDENTICAL;
  const s = identical ? 0 : 0.02 + 0.58 * rand();
  const families = SPLIT_DISTORTIONS[split] ?? TRADITIONAL;
  const p1 = identical ? p0 : quantise(distortChain(p0, pick(families, rand), s, rand));
  return { p0, p1, s, same: Math.fround(logistic(-SAME_SLOPE * (s - SAME_THRESHOLD))) };
}

function readManifest(root: string): SyntheticManifest | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, SYNTHETIC_MANIFEST), 'utf8')) as SyntheticManifest;
  } catch {
    return null;
  }
}

export interface GenerateResult {
  root: string;
  manifest: SyntheticManifest;
  /** False when `root` already held this exact dataset (nothing was written). */
  written: boolean;
}

/**
 * Writes the synthetic BAPPS under `root` (2AFC val: the six splits, 2AFC train: traditional,
 * cnn, mix; JND val: traditional, cnn). A root that already holds the same dataset (same
 * manifest) is left alone; the manifest is written last, so an interrupted run regenerates.
 */
export async function generateSyntheticBapps(root: string, opts: SyntheticOptions = {}): Promise<GenerateResult> {
  const manifest = manifestOf(opts);
  const existing = readManifest(root);
  if (existing && JSON.stringify(existing) === JSON.stringify(manifest)) return { root, manifest, written: false };
  fs.rmSync(path.join(root, SYNTHETIC_MANIFEST), { force: true });
  const twoAfc: [BappsPhase, readonly string[], number][] = [
    ['val', TWO_AFC_VAL_SPLITS, manifest.counts.val],
    ['train', TWO_AFC_TRAIN_SPLITS, manifest.counts.train],
  ];
  const c = manifest.counts;
  const progress = opts.progress;
  progress?.start(
    'writing synthetic BAPPS',
    TWO_AFC_VAL_SPLITS.length * c.val + TWO_AFC_TRAIN_SPLITS.length * c.train + JND_VAL_SPLITS.length * c.jnd,
  );
  // writes (PNG encoding on sharp's threads) overlap the generation of the next items
  const pending: Promise<void>[] = [];
  const queue = async (p: Promise<void>) => {
    progress?.tick(1);
    p.catch(() => undefined); // rejections surface at Promise.all below, not as unhandled ones
    pending.push(p);
    if (pending.length >= 16) await Promise.all(pending.splice(0));
  };
  for (const [phase, splits, n] of twoAfc) {
    for (const split of splits) {
      const dir = splitDir(root, '2afc', phase, split);
      fs.rmSync(dir, { recursive: true, force: true });
      makeFolders(dir, '2afc');
      for (let i = 0; i < n; i++) {
        const t = syntheticTriplet(manifest, phase, split, i);
        await queue(writeItem(dir, itemId(i), { ref: t.ref, p0: t.p0, p1: t.p1 }, 'judge', t.judge));
      }
    }
  }
  for (const split of JND_VAL_SPLITS) {
    const dir = splitDir(root, 'jnd', 'val', split);
    fs.rmSync(dir, { recursive: true, force: true });
    makeFolders(dir, 'jnd');
    for (let i = 0; i < manifest.counts.jnd; i++) {
      const p = syntheticJndPair(manifest, split, i);
      await queue(writeItem(dir, itemId(i), { p0: p.p0, p1: p.p1 }, 'same', p.same));
    }
  }
  await Promise.all(pending);
  fs.writeFileSync(path.join(root, SYNTHETIC_MANIFEST), JSON.stringify(manifest, null, 2));
  progress?.done();
  return { root, manifest, written: true };
}
