/**
 * Pixel-wise delineation scores for road segmentation (docs/PROTOCOL.md section 5, after Wiedemann et
 * al. as used by Mosinska et al.): completeness = TP/(TP+FN), correctness = TP/(TP+FP),
 * quality = TP/(TP+FP+FN), computed per image and averaged over images.
 *
 * Choices (the reference code is not visible to us):
 * - A pixel is predicted road when `pred > threshold` (strict, default 0.3) and ground-truth road
 *   when `gt > gtThreshold` (strict, default 0.5). With a sigmoid output exact equality has
 *   practically zero probability; for resized masks a pixel at exactly 0.5 is half road, and we
 *   count it as background. `inclusive: true` switches both to `>=`.
 * - 0/0 cases (`emptyPolicy`):
 *   'one' (default): a ratio with an empty denominator is vacuously perfect and counts as 1. So an
 *   image with no road and no predicted road scores 1/1/1; no road but some predicted road scores
 *   completeness 1, correctness 0, quality 0; road but nothing predicted scores completeness 0,
 *   correctness 1, quality 0. Quality is never vacuous unless both masks are empty.
 *   'skip': an undefined ratio is NaN for that image and left out of that metric's mean (if no
 *   image defines it, the mean is NaN).
 */
import { assertNonEmpty, assertSameLength, metricsInputError } from './errors';

/** Options of the delineation scores: thresholds, their comparison, and how 0/0 ratios count. */
export interface DelineationOptions {
  /** Prediction threshold. Default 0.3. */
  threshold?: number;
  /** Ground-truth threshold. Default 0.5. */
  gtThreshold?: number;
  /** Use `>=` instead of `>` for both thresholds. Default false. */
  inclusive?: boolean;
  /** How 0/0 ratios count; see the module comment. Default 'one'. */
  emptyPolicy?: 'one' | 'skip';
}

/** True positives, false positives and false negatives of one image. */
export interface ConfusionCounts {
  tp: number;
  fp: number;
  fn: number;
}

/** Completeness (recall), correctness (precision) and quality (TP / (TP + FP + FN)). */
export interface DelineationScores {
  completeness: number;
  correctness: number;
  quality: number;
}

/** The delineation scores over a set, with each image's scores and counts. */
export interface DelineationResult extends DelineationScores {
  /** Per-image scores (NaN where undefined under 'skip'). */
  perImage: DelineationScores[];
  /** Per-image counts. */
  counts: ConfusionCounts[];
}

/** TP/FP/FN of one image (flat arrays of the same length, any layout). */
export function delineationCounts(pred: ArrayLike<number>, gt: ArrayLike<number>, opts: DelineationOptions = {}): ConfusionCounts {
  assertSameLength(['ground truth', 'prediction'], gt, pred);
  const t = opts.threshold ?? 0.3;
  const g = opts.gtThreshold ?? 0.5;
  const inc = opts.inclusive ?? false;
  let tp = 0,
    fp = 0,
    fn = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = inc ? pred[i] >= t : pred[i] > t;
    const r = inc ? gt[i] >= g : gt[i] > g;
    if (p && r) tp++;
    else if (p) fp++;
    else if (r) fn++;
  }
  return { tp, fp, fn };
}

function ratio(num: number, den: number, policy: 'one' | 'skip'): number {
  if (den > 0) return num / den;
  return policy === 'one' ? 1 : NaN;
}

/** Scores of one image from its counts. */
export function scoresFromCounts(c: ConfusionCounts, emptyPolicy: 'one' | 'skip' = 'one'): DelineationScores {
  return {
    completeness: ratio(c.tp, c.tp + c.fn, emptyPolicy),
    correctness: ratio(c.tp, c.tp + c.fp, emptyPolicy),
    quality: ratio(c.tp, c.tp + c.fp + c.fn, emptyPolicy),
  };
}

/** Per-image scores averaged over images. */
export function delineationScores(
  images: ReadonlyArray<{ pred: ArrayLike<number>; gt: ArrayLike<number> }>,
  opts: DelineationOptions = {},
): DelineationResult {
  assertNonEmpty('images', images);
  const policy = opts.emptyPolicy ?? 'one';
  if (policy !== 'one' && policy !== 'skip') throw metricsInputError('emptyPolicy', `is '${String(policy)}'`, "use 'one' or 'skip'");
  const counts = images.map((im) => delineationCounts(im.pred, im.gt, opts));
  const perImage = counts.map((c) => scoresFromCounts(c, policy));
  const avg = (key: keyof DelineationScores): number => {
    let s = 0;
    let n = 0;
    for (const p of perImage) {
      if (!Number.isNaN(p[key])) {
        s += p[key];
        n++;
      }
    }
    return n > 0 ? s / n : NaN;
  };
  return { completeness: avg('completeness'), correctness: avg('correctness'), quality: avg('quality'), perImage, counts };
}
