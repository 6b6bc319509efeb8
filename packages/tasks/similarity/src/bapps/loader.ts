/**
 * The BAPPS loader (layout in layout.ts). Splits are opened by listing their ids (a split is
 * checked for completeness before any image is read); items stream in batches as an async
 * iterable, reading the next batch while the caller works on the current one, so the ~36k val
 * triplets are never all in memory.
 *
 * Images are decoded with core's readImage (8-bit, RGB) and, when they are not already
 * size x size, resized to exactly size x size with Pillow-exact bilinear resampling (LPIPS'
 * loader: transforms.Resize with PIL's bilinear filter; BAPPS images are square, so this equals its
 * shorter-side resize). Values are floats in [0,1], NHWC.
 *
 * Bad items: with onBadItem 'fail' (the default) the first unreadable image or label stops the
 * stream with an error naming the file; with 'skip' the item is dropped from its batch and
 * reported in `skipped` (the caller records it). Either way the caller keeps what it scored
 * before (see task.ts for how the task keeps finished splits).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inputError, isDplError, readImage, readNpy, resize, toFloat01, type DplError, type Image8 } from '@dpl/core';
import { BAPPS_SIZE, SPLIT_FOLDERS, splitDir, splitKey, type BappsKind, type BappsPhase } from './layout';

export interface BappsSplit {
  kind: BappsKind;
  phase: BappsPhase;
  split: string;
  /** `2afc/val/cnn` */
  key: string;
  dir: string;
  /** Sorted item ids (file names without extension), each complete in every folder. */
  ids: string[];
}

export interface BappsItem {
  split: BappsSplit;
  id: string;
}

export interface SkippedItem {
  split: string;
  id: string;
  /** The error, which names the bad file. */
  reason: string;
}

export interface BappsBatch {
  kind: BappsKind;
  /** The items of this batch that were read (skipped ones are not here). */
  items: BappsItem[];
  /** Per image folder (ref, p0, p1 / p0, p1): NHWC float [items.length, size, size, 3] in [0,1]. */
  images: Record<string, Float32Array>;
  /** judge (2AFC) or same (JND) per item. */
  labels: Float32Array;
  size: number;
  /** Items of this batch that were dropped (onBadItem 'skip'). */
  skipped: SkippedItem[];
}

export type BadItemPolicy = 'fail' | 'skip';

export interface BatchOptions {
  batchSize: number;
  /** Side of the images handed out (default 64). */
  size?: number;
  onBadItem?: BadItemPolicy;
}

const listDir = (dir: string): string[] => {
  try {
    return fs.readdirSync(dir).filter((f) => !f.startsWith('.'));
  } catch {
    return [];
  }
};

const listIds = (dir: string, ext: string): string[] =>
  listDir(dir)
    .filter((f) => path.extname(f).toLowerCase() === ext)
    .map((f) => f.slice(0, -ext.length));

/** Names the closest existing folder above a missing one and what it contains. */
function missingFolder(root: string, kind: BappsKind, phase: BappsPhase, split: string): DplError {
  const rootHint = "point the data root at the BAPPS folder that holds 2afc/ and jnd/ (as LPIPS' scripts/download_dataset.sh unpacks it)";
  if (!fs.existsSync(root)) throw inputError(`BAPPS data root ${root}`, 'does not exist', rootHint);
  const steps = [root, path.join(root, kind), path.join(root, kind, phase), splitDir(root, kind, phase, split)];
  let i = 0;
  while (i + 1 < steps.length && fs.existsSync(steps[i + 1])) i++;
  const missing = steps[i + 1];
  const found = listDir(steps[i]).filter((f) => fs.statSync(path.join(steps[i], f)).isDirectory());
  const what = i === 3 - 1 ? 'splits' : 'folders';
  return inputError(
    `BAPPS split ${splitKey(kind, phase, split)}`,
    `folder ${missing} does not exist; ${steps[i]} has ${found.length ? `${what}: ${found.sort().join(', ')}` : 'no folders'}`,
    i === 0 ? rootHint : 'download the missing split, or leave it out of the configured splits',
  );
}

/** Lists a split's ids and checks that every id has all its files. */
export function openSplit(root: string, kind: BappsKind, phase: BappsPhase, split: string): BappsSplit {
  const dir = splitDir(root, kind, phase, split);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw missingFolder(root, kind, phase, split);
  const { images, label } = SPLIT_FOLDERS[kind];
  const folders = [...images.map((f) => [f, '.png'] as const), [label, '.npy'] as const];
  const absent = folders.filter(([f]) => !fs.existsSync(path.join(dir, f))).map(([f]) => f);
  if (absent.length) {
    throw inputError(
      dir,
      `has no ${absent.join(', ')} folder${absent.length > 1 ? 's' : ''} (a ${kind} split holds ${folders.map(([f]) => f).join(', ')})`,
      'restore the split as BAPPS ships it',
    );
  }
  const perFolder = folders.map(([f, ext]) => [f, ext, new Set(listIds(path.join(dir, f), ext))] as const);
  const all = new Set<string>();
  for (const [, , ids] of perFolder) for (const id of ids) all.add(id);
  const problems: string[] = [];
  for (const [f, ext, ids] of perFolder) {
    const missing = [...all].filter((id) => !ids.has(id)).sort();
    if (missing.length) {
      const shown = missing
        .slice(0, 5)
        .map((id) => `${id}${ext}`)
        .join(', ');
      problems.push(`${missing.length} of ${all.size} ids missing in ${f}/ (${shown}${missing.length > 5 ? ', ...' : ''})`);
    }
  }
  if (problems.length) {
    throw inputError(
      dir,
      problems.join('; '),
      `every item needs ${folders.map(([f, ext]) => `${f}/<id>${ext}`).join(', ')}: restore the missing files or delete the incomplete items`,
    );
  }
  if (all.size === 0) throw inputError(dir, 'holds no items', 'download the split again');
  return { kind, phase, split, key: splitKey(kind, phase, split), dir, ids: [...all].sort() };
}

/** The items of some splits, in split order and then id order. */
export const itemsOf = (splits: BappsSplit[]): BappsItem[] => splits.flatMap((s) => s.ids.map((id) => ({ split: s, id })));

/** Reads a judge/same file: one finite number in [0, 1]. */
export async function readLabel(file: string): Promise<number> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch (e) {
    throw inputError(file, `cannot be read (${(e as Error).message})`, 'check the file and its permissions');
  }
  const arr = readNpy(buf, file);
  if (arr.data.length !== 1) {
    throw inputError(
      file,
      `holds ${arr.data.length} values (shape [${arr.shape.join(', ')}]); a BAPPS ${path.basename(path.dirname(file))} file holds exactly one`,
      'restore the file from BAPPS',
    );
  }
  const v = arr.data[0];
  if (!(v >= 0 && v <= 1)) throw inputError(file, `holds ${v}, not a fraction in [0, 1]`, 'restore the file from BAPPS');
  return v;
}

/** Reads an image as float RGB [0,1] HWC, resized to size x size when it is not already. */
export async function readBappsImage(file: string, size = BAPPS_SIZE): Promise<Float32Array> {
  const img = await readImage(file);
  if (img.width === size && img.height === size) return img.data;
  // readImage decoded 8-bit values v/255: rounding recovers them exactly for Pillow's 8-bit resize
  const u8 = new Uint8Array(img.data.length);
  for (let i = 0; i < u8.length; i++) u8[i] = Math.round(img.data[i] * 255);
  const src: Image8 = { width: img.width, height: img.height, channels: 3, data: u8 };
  return toFloat01(resize(src, size, size, 'bilinear'));
}

interface ReadItem {
  images: Float32Array[];
  label: number;
}

async function readItem(item: BappsItem, size: number): Promise<ReadItem> {
  const { images, label } = SPLIT_FOLDERS[item.split.kind];
  const [lab, ...imgs] = await Promise.all([
    readLabel(path.join(item.split.dir, label, `${item.id}.npy`)),
    ...images.map((f) => readBappsImage(path.join(item.split.dir, f, `${item.id}.png`), size)),
  ]);
  return { images: imgs as Float32Array[], label: lab as number };
}

async function readBatch(items: BappsItem[], size: number, policy: BadItemPolicy): Promise<BappsBatch> {
  const kind = items[0].split.kind;
  const folders = SPLIT_FOLDERS[kind].images;
  const settled = await Promise.allSettled(items.map((it) => readItem(it, size)));
  const ok: { item: BappsItem; read: ReadItem }[] = [];
  const skipped: SkippedItem[] = [];
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') ok.push({ item: items[i], read: r.value });
    else if (policy === 'skip' && isDplError(r.reason))
      skipped.push({ split: items[i].split.key, id: items[i].id, reason: (r.reason as Error).message });
    else throw r.reason;
  });
  const px = size * size * 3;
  const images: Record<string, Float32Array> = {};
  folders.forEach((f, k) => {
    const a = new Float32Array(ok.length * px);
    ok.forEach((o, i) => a.set(o.read.images[k], i * px));
    images[f] = a;
  });
  return { kind, items: ok.map((o) => o.item), images, labels: Float32Array.from(ok.map((o) => o.read.label)), size, skipped };
}

/**
 * Streams `items` (all of one kind) in batches of `batchSize`, reading one batch ahead. Decoding
 * runs on libuv's thread pool (sharp), so it overlaps the caller's tensor work.
 */
export async function* bappsBatches(items: BappsItem[], opts: BatchOptions): AsyncGenerator<BappsBatch> {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw inputError(`batch size ${batchSize}`, 'must be an integer >= 1');
  if (!items.length) return;
  const kind = items[0].split.kind;
  const other = items.find((it) => it.split.kind !== kind);
  if (other)
    throw inputError(
      `items of ${other.split.key}`,
      `are ${other.split.kind} items in a ${kind} stream`,
      'stream 2AFC and JND items separately',
    );
  const size = opts.size ?? BAPPS_SIZE;
  const policy = opts.onBadItem ?? 'fail';
  const start = (at: number): Promise<BappsBatch> => {
    const p = readBatch(items.slice(at, at + batchSize), size, policy);
    p.catch(() => undefined); // handled when awaited; a consumer that stops early must not see an unhandled rejection
    return p;
  };
  let next = start(0);
  for (let at = 0; at < items.length; at += batchSize) {
    const cur = await next;
    if (at + batchSize < items.length) next = start(at + batchSize);
    yield cur;
  }
}
