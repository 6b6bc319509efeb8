/**
 * The three image sets of a run: the autoencoder's (STL-10 unlabeled / SVHN extra), the probes'
 * training set (train) and test set (test), from the data root or, without one, from the
 * synthetic stand-in written to the scratch directory.
 */
import * as path from 'node:path';
import { configError, inputError } from '@dpl/core';
import type { AutoencoderConfig } from '../config';
import { limit, type ImageSet } from './image-set';
import { hasStl10, openStl10, STL10_FILES } from './stl10';
import { hasSvhn, openSvhn, SVHN_FILES } from './svhn';
import { readManifest, writeSynthetic, type SyntheticManifest } from './synthetic';

/** The seed of the synthetic stand-in: fixed, so every loss network of a suite sees the same data. */
export const SYNTHETIC_SEED = 0;

export interface RunData {
  kind: 'stl10' | 'svhn' | 'synthetic';
  root: string;
  autoencoder: ImageSet;
  probeTrain: ImageSet;
  probeTest: ImageSet;
  /** Sizes before the max* limits. */
  available: { autoencoder: number; probeTrain: number; probeTest: number };
  synthetic?: SyntheticManifest;
  close(): void;
}

function detect(root: string, wanted: AutoencoderConfig['dataset']): 'stl10' | 'svhn' {
  if (wanted !== 'auto') return wanted;
  const stl = hasStl10(root);
  const svhn = hasSvhn(root);
  if (stl && svhn)
    throw configError("config key 'dataset'", `is 'auto' but ${root} holds both STL-10 and SVHN files`, "set dataset to 'stl10' or 'svhn'");
  if (stl) return 'stl10';
  if (svhn) return 'svhn';
  throw inputError(
    root,
    'holds neither STL-10 nor SVHN files',
    `give a folder with STL-10's ${Object.values(STL10_FILES)
      .flatMap((f) => [f.images, f.labels])
      .filter(Boolean)
      .join(', ')} (or its stl10_binary/ folder) or SVHN's ${Object.values(SVHN_FILES).join(', ')}`,
  );
}

const openSynthetic = (root: string, side: number, keep: (s: ImageSet) => ImageSet): [ImageSet, ImageSet, ImageSet] => [
  keep(openStl10(root, 'unlabeled', side)),
  keep(openStl10(root, 'train', side)),
  keep(openStl10(root, 'test', side)),
];

export async function openRunData(
  cfg: AutoencoderConfig,
  dataRoot: string | undefined,
  scratchDir: string,
  seed: number,
  log: (m: string) => void,
): Promise<RunData> {
  const opened: ImageSet[] = [];
  const keep = (s: ImageSet) => {
    opened.push(s);
    return s;
  };
  try {
    let kind: RunData['kind'];
    let root: string;
    let sets: [ImageSet, ImageSet, ImageSet];
    let synthetic: SyntheticManifest | undefined;
    if (!dataRoot) {
      kind = 'synthetic';
      root = path.join(scratchDir, 'synthetic-autoencoder');
      log(
        `no data root given: training on a synthetic stand-in written to ${root} (10 classes of drawn shapes; its numbers say nothing about STL-10 or SVHN; pass the data folder for the benchmark)`,
      );
      synthetic = writeSynthetic(root, SYNTHETIC_SEED, cfg.syntheticSize, {
        unlabeled: cfg.syntheticUnlabeled,
        train: cfg.syntheticTrain,
        test: cfg.syntheticTest,
      });
      sets = openSynthetic(root, synthetic.side, keep);
    } else if (readManifest(path.resolve(dataRoot))) {
      // a synthetic set written earlier (e.g. by an offline run) passed as the data root
      root = path.resolve(dataRoot);
      kind = 'synthetic';
      synthetic = readManifest(root)!;
      sets = openSynthetic(root, synthetic.side, keep);
    } else {
      root = path.resolve(dataRoot);
      kind = detect(root, cfg.dataset);
      if (kind === 'stl10') {
        sets = [keep(openStl10(root, 'unlabeled')), keep(openStl10(root, 'train')), keep(openStl10(root, 'test'))];
      } else {
        const o = { pad: cfg.svhnPad, cacheDir: cfg.svhnCacheDir ?? path.join(scratchDir, 'svhn-cache') };
        sets = [keep(await openSvhn(root, 'extra', o)), keep(await openSvhn(root, 'train', o)), keep(await openSvhn(root, 'test', o))];
      }
    }
    const [ae, tr, te] = sets;
    if (!tr.labels || !te.labels)
      throw inputError(`${tr.labels ? te.name : tr.name}`, 'has no labels', 'the probes need labelled train and test images');
    return {
      kind,
      root,
      autoencoder: limit(ae, cfg.maxAutoencoderImages, seed, 'autoencoder'),
      probeTrain: limit(tr, cfg.maxProbeTrainImages, seed, 'probe-train'),
      probeTest: limit(te, cfg.maxProbeTestImages, seed, 'probe-test'),
      available: { autoencoder: ae.count, probeTrain: tr.count, probeTest: te.count },
      synthetic,
      close: () => opened.forEach((s) => s.close()),
    };
  } catch (e) {
    opened.forEach((s) => s.close());
    throw e;
  }
}
