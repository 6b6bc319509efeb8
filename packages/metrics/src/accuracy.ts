/**
 * Argmax classification accuracy (docs/PROTOCOL.md section 6). The predicted class is the index of the
 * first maximum in each row (numpy/torch `argmax` also return the first maximum on ties). NaN
 * logits never win a comparison, so a row of NaNs predicts class 0.
 */
import { metricsInputError } from './errors';

/** Predicted class per row of an N x C row-major logit matrix. */
export function argmaxRows(logits: ArrayLike<number>, numClasses: number): Int32Array {
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw metricsInputError('numClasses', `is ${numClasses}`, 'use a positive integer');
  if (logits.length % numClasses !== 0) {
    throw metricsInputError(
      'logits',
      `has ${logits.length} values, not a multiple of ${numClasses} classes`,
      'pass an N x C row-major matrix',
    );
  }
  const n = logits.length / numClasses;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * numClasses;
    let best = 0;
    let bestV = logits[base];
    for (let c = 1; c < numClasses; c++) {
      const v = logits[base + c];
      if (v > bestV || (Number.isNaN(bestV) && !Number.isNaN(v))) {
        best = c;
        bestV = v;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose argmax equals the integer label. */
export function argmaxAccuracy(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number {
  const pred = argmaxRows(logits, numClasses);
  if (pred.length !== labels.length) {
    throw metricsInputError('labels', `has ${labels.length} entries but logits have ${pred.length} rows`, 'pass one label per row');
  }
  if (pred.length === 0) throw metricsInputError('logits', 'is empty', 'pass at least one row');
  let correct = 0;
  for (let i = 0; i < pred.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw metricsInputError(`labels[${i}]`, `is ${l}`, `labels must be integers in [0, ${numClasses})`);
    }
    if (pred[i] === l) correct++;
  }
  return correct / pred.length;
}
