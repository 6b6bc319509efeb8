/**
 * The on-disk layout of BAPPS (Zhang et al. 2018), as LPIPS' download script unpacks it:
 *   <root>/2afc/<train|val>/<split>/{ref,p0,p1}/<id>.png and judge/<id>.npy
 *   <root>/jnd/val/<split>/{p0,p1}/<id>.png and same/<id>.npy
 * `judge` is the fraction of humans who found p1 closer to ref; `same` the fraction who judged
 * p0 and p1 identical. Each .npy holds one number.
 */
import * as path from 'node:path';

export type BappsKind = '2afc' | 'jnd';
export type BappsPhase = 'train' | 'val';

export const TWO_AFC_VAL_SPLITS = ['traditional', 'cnn', 'superres', 'deblur', 'color', 'frameinterp'] as const;
export const TWO_AFC_TRAIN_SPLITS = ['traditional', 'cnn', 'mix'] as const;
export const JND_VAL_SPLITS = ['traditional', 'cnn'] as const;

/** The image folders and the label folder of one kind of split. */
export const SPLIT_FOLDERS: Record<BappsKind, { images: readonly string[]; label: string }> = {
  '2afc': { images: ['ref', 'p0', 'p1'], label: 'judge' },
  jnd: { images: ['p0', 'p1'], label: 'same' },
};

/** BAPPS images are stored (and compared) at this size. */
export const BAPPS_SIZE = 64;

export const splitDir = (root: string, kind: BappsKind, phase: BappsPhase, split: string): string => path.join(root, kind, phase, split);

/** `2afc/val/cnn`: how splits are named in results and messages. */
export const splitKey = (kind: BappsKind, phase: BappsPhase, split: string): string => `${kind}/${phase}/${split}`;
