/**
 * JND mean average precision (docs/PROTOCOL.md section 3), following LPIPS' `score_jnd_dataset` and
 * its VOC-style `voc_ap` (non-07 variant). Our reading of the reference:
 *
 * 1. Sort the pairs by ascending distance: a good metric puts the pairs humans called "same"
 *    first. Ties are broken by input order with a STABLE sort (JS `Array.prototype.sort` is
 *    stable since ES2019). numpy's default `argsort` (quicksort/introsort) is not stable, so on
 *    exactly tied distances the reference's order, and hence its AP, is implementation-defined;
 *    with distinct distances the two agree.
 * 2. `same` in [0, 1] is a soft positive: TP_k = cumsum(same), FP_k = cumsum(1 - same),
 *    recall_k = TP_k / sum(same), precision_k = TP_k / (TP_k + FP_k).
 *    We take sum(same) as the last cumulative sum, so recall ends at exactly 1 (the reference's
 *    `np.sum` may differ from its `cumsum` in the last bits; the difference is ~1e-16).
 * 3. AP: mrec = [0, recall..., 1], mpre = [0, precision..., 0]; make mpre non-increasing from the
 *    right (mpre[i-1] = max(mpre[i-1], mpre[i])); AP = sum over i with mrec[i+1] != mrec[i] of
 *    (mrec[i+1] - mrec[i]) * mpre[i+1].
 *
 * The study pools the traditional and cnn val splits into one list before calling this (code).
 */
import { assertNonEmpty, assertSameLength, metricsInputError } from './errors';

/** The precision-recall curve of JND pairs ranked by distance. */
export interface PrecisionRecall {
  /** Recall after including the first k+1 pairs (ascending distance). */
  recall: Float64Array;
  /** Precision after including the first k+1 pairs. */
  precision: Float64Array;
}

/** Precision/recall curve of "same" ranked by ascending distance. */
export function jndPrecisionRecall(distances: ArrayLike<number>, same: ArrayLike<number>): PrecisionRecall {
  assertSameLength(['distances', 'same'], distances, same);
  assertNonEmpty('distances', distances);
  const n = distances.length;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(distances[i])) throw metricsInputError(`distances[${i}]`, 'is NaN', 'check the network output');
    const s = same[i];
    if (!(s >= 0 && s <= 1)) throw metricsInputError(`same[${i}]`, `is ${s}, not a fraction in [0, 1]`, 'pass the JND `same` values');
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => distances[a] - distances[b]); // stable: ties keep input order
  const tp = new Float64Array(n);
  const fp = new Float64Array(n);
  let t = 0;
  let f = 0;
  for (let k = 0; k < n; k++) {
    const s = same[order[k]];
    t += s;
    f += 1 - s;
    tp[k] = t;
    fp[k] = f;
  }
  const positives = t;
  if (!(positives > 0)) {
    throw metricsInputError('same', 'has no positive ("same") mass, so recall and AP are undefined', 'pass JND pairs with some `same` > 0');
  }
  const recall = new Float64Array(n);
  const precision = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    recall[k] = tp[k] / positives;
    precision[k] = tp[k] / (tp[k] + fp[k]);
  }
  return { recall, precision };
}

/** VOC (non-07) average precision of a precision/recall curve, as LPIPS' `voc_ap`. */
export function vocAveragePrecision(recall: ArrayLike<number>, precision: ArrayLike<number>): number {
  assertSameLength(['recall', 'precision'], recall, precision);
  const m = recall.length + 2;
  const mrec = new Float64Array(m);
  const mpre = new Float64Array(m);
  mrec[m - 1] = 1;
  for (let i = 0; i < recall.length; i++) {
    mrec[i + 1] = recall[i];
    mpre[i + 1] = precision[i];
  }
  for (let i = m - 1; i > 0; i--) if (mpre[i] > mpre[i - 1]) mpre[i - 1] = mpre[i];
  let ap = 0;
  for (let i = 0; i < m - 1; i++) {
    if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  }
  return ap;
}

/** JND mAP: average precision of "same" ranked by ascending distance. */
export function jndMap(distances: ArrayLike<number>, same: ArrayLike<number>): number {
  const { recall, precision } = jndPrecisionRecall(distances, same);
  return vocAveragePrecision(recall, precision);
}
