/**
 * Scores BAPPS splits with a perceptual distance: 2AFC triplets (d0 = d(ref, p0), d1 = d(ref, p1),
 * one forward pass per image, the reference's features reused for p0 and p1) and JND pairs
 * (d = d(p0, p1)).
 *
 * Work already scored is never lost: each split's distances go to a record in the cache folder
 * (a JSON file per split, named by a fingerprint of everything that determines the distances)
 * when the split finishes, every RECORD_EVERY_MS while it runs, and when the run stops on an
 * error or an interrupt. A later run with the same fingerprint and cache folder (the same
 * scratch directory) takes finished splits as they are and continues a partial split after its
 * last recorded item.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DplError, isDplError, type AsyncPerceptualDistance, type ProgressReporter } from '@dpl/core';
import { bappsBatches, type BadItemPolicy, type BappsItem, type BappsSplit, type SkippedItem } from './bapps/loader';

const RECORD_EVERY_MS = 30_000;

/** Distances of one split, in id order (skipped items excluded). */
export interface SplitRecord {
  key: string;
  kind: '2afc' | 'jnd';
  fingerprint: string;
  complete: boolean;
  ids: string[];
  /** 2AFC: d(ref, p0); JND: d(p0, p1). */
  d0: number[];
  /** 2AFC only: d(ref, p1). */
  d1: number[];
  /** judge (2AFC) or same (JND). */
  labels: number[];
  skipped: SkippedItem[];
}

export interface ScoreOptions {
  /** The distance, with its features from an inference engine (EngineDistance). */
  distance: AsyncPerceptualDistance;
  splits: BappsSplit[];
  /** The ids to score per split key (all of the split's ids unless limited). */
  ids: Map<string, string[]>;
  batchSize: number;
  imageSize: number;
  onBadItem: BadItemPolicy;
  progress: ProgressReporter;
  signal?: AbortSignal;
  /** Where split records live; null disables recording and resuming. */
  cacheDir: string | null;
  fingerprint: string;
  resume: boolean;
}

export interface ScoreResult {
  records: SplitRecord[];
  /** Split keys taken from earlier runs (complete, or continued). */
  resumed: string[];
  /** Items scored by this run (not taken from records). */
  scored: number;
  seconds: number;
}

const recordFile = (dir: string, key: string) => path.join(dir, `${key.replace(/\//g, '-')}.json`);

function writeRecord(dir: string, rec: SplitRecord): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = recordFile(dir, rec.key);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(rec));
  fs.renameSync(tmp, file);
}

/** An earlier record usable for this run, or null (other fingerprint, other ids, unreadable). */
function readRecord(dir: string, key: string, fingerprint: string, ids: string[]): SplitRecord | null {
  let rec: SplitRecord;
  try {
    rec = JSON.parse(fs.readFileSync(recordFile(dir, key), 'utf8')) as SplitRecord;
  } catch {
    return null;
  }
  if (rec.fingerprint !== fingerprint || rec.key !== key) return null;
  const done = [...rec.ids, ...rec.skipped.map((s) => s.id)];
  const wanted = new Set(ids);
  if (done.some((id) => !wanted.has(id))) return null;
  if (rec.complete && done.length !== ids.length) return null;
  return rec;
}

/** Distances of one batch; every tensor is disposed before returning. */
async function batchDistances(
  distance: AsyncPerceptualDistance,
  kind: '2afc' | 'jnd',
  images: Record<string, Float32Array>,
  n: number,
  size: number,
): Promise<[Float32Array, Float32Array | null]> {
  const t = (a: Float32Array) => tf.tensor4d(a, [n, size, size, 3]);
  const read = async (d: tf.Tensor1D) => {
    try {
      return (await d.data()) as Float32Array;
    } finally {
      d.dispose();
    }
  };
  if (kind === 'jnd') {
    const [p0, p1] = [t(images.p0), t(images.p1)];
    try {
      return [await read(await distance.compute(p0, p1)), null];
    } finally {
      tf.dispose([p0, p1]);
    }
  }
  const [ref, p0, p1] = [t(images.ref), t(images.p0), t(images.p1)];
  try {
    const fr = await distance.features(ref);
    try {
      return [await read(await distance.computeWithReference(fr, p0)), await read(await distance.computeWithReference(fr, p1))];
    } finally {
      tf.dispose([...fr.values()]);
    }
  } finally {
    tf.dispose([ref, p0, p1]);
  }
}

/** Adds a note to a DplError saying where the work done so far is kept. */
function withSavedNote(e: unknown, note: string): unknown {
  if (!isDplError(e)) return e;
  const base = e.hint ? e.message.slice(0, e.message.length - `\n  fix: ${e.hint}`.length) : e.message;
  return new DplError(e.code, `${base}\n  (${note})`, e.hint);
}

/** Scores every split in order (see the file header for records and resuming). */
export async function scoreSplits(o: ScoreOptions): Promise<ScoreResult> {
  const start = Date.now();
  const plan = o.splits.map((s) => {
    const ids = o.ids.get(s.key) ?? s.ids;
    const prior = o.cacheDir && o.resume ? readRecord(o.cacheDir, s.key, o.fingerprint, ids) : null;
    return { split: s, ids, prior };
  });
  const total = plan.reduce((a, p) => a + p.ids.length, 0);
  const records: SplitRecord[] = [];
  const resumed: string[] = [];
  let scored = 0;
  o.progress.start('similarity: scoring', total);
  try {
    for (const { split, ids, prior } of plan) {
      const rec: SplitRecord = prior ?? {
        key: split.key,
        kind: split.kind,
        fingerprint: o.fingerprint,
        complete: false,
        ids: [],
        d0: [],
        d1: [],
        labels: [],
        skipped: [],
      };
      const done = new Set([...rec.ids, ...rec.skipped.map((s) => s.id)]);
      if (prior) {
        resumed.push(split.key);
        o.progress.tick(done.size, { split: split.key, resumed: 1 });
      }
      const todo: BappsItem[] = ids.filter((id) => !done.has(id)).map((id) => ({ split, id }));
      let lastWrite = Date.now();
      try {
        for await (const b of bappsBatches(todo, { batchSize: o.batchSize, size: o.imageSize, onBadItem: o.onBadItem })) {
          if (o.signal?.aborted) throw new DplError('E_ABORTED', 'scoring was interrupted');
          rec.skipped.push(...b.skipped);
          for (const s of b.skipped) o.progress.log(`skipped ${s.split}/${s.id}: ${s.reason.split('\n')[0]}`);
          if (b.items.length) {
            const [d0, d1] = await batchDistances(o.distance, split.kind, b.images, b.items.length, b.size);
            rec.ids.push(...b.items.map((i) => i.id));
            rec.d0.push(...d0);
            if (d1) rec.d1.push(...d1);
            rec.labels.push(...b.labels);
            scored += b.items.length;
          }
          o.progress.tick(b.items.length + b.skipped.length, { split: split.key });
          if (o.cacheDir && Date.now() - lastWrite > RECORD_EVERY_MS) {
            writeRecord(o.cacheDir, rec);
            lastWrite = Date.now();
          }
        }
      } catch (e) {
        if (o.cacheDir) writeRecord(o.cacheDir, rec);
        const finished = records.length;
        throw withSavedNote(
          e,
          o.cacheDir
            ? `${finished} finished split${finished === 1 ? '' : 's'} and ${rec.ids.length} scored items of ${split.key} are saved in ${o.cacheDir}; run again with the same scratch directory to continue from there`
            : 'nothing was saved: recording is off',
        );
      }
      rec.complete = true;
      if (o.cacheDir) writeRecord(o.cacheDir, rec);
      records.push(rec);
    }
  } finally {
    o.progress.done();
  }
  return { records, resumed, scored, seconds: (Date.now() - start) / 1000 };
}
