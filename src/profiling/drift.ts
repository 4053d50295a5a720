/**
 * Numerical drift between two embeddings of the same input, such as a float16 model's output against the
 * float32 model's. Both figures are computed in float64.
 */
import type { PrecisionDrift } from '../report/result';

export interface EmbeddingDrift {
  /** Largest |a[i] − b[i]|. */
  maxAbsDifference: number;
  /** a·b / (‖a‖·‖b‖), from −1 to 1. 1 when both vectors are all zeros, 0 when only one is. */
  cosineSimilarity: number;
}

/**
 * Compares two embeddings of equal length element by element. A NaN or infinite value in either makes
 * the result NaN or infinite, so a broken output never looks like agreement. Throws RangeError when the
 * lengths differ or the embeddings are empty.
 */
export function compareEmbeddings(a: Float32Array, b: Float32Array): EmbeddingDrift {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot compare embeddings of different lengths: ${a.length} against ${b.length} values.`);
  }
  if (a.length === 0) throw new RangeError('Cannot compare empty embeddings: both contain 0 values.');

  let maxAbsDifference = 0;
  let dot = 0;
  let squaredNormA = 0;
  let squaredNormB = 0;
  for (let index = 0; index < a.length; index += 1) {
    const difference = Math.abs(a[index] - b[index]);
    // Math.max returns NaN when either argument is NaN, which a plain `>` comparison would skip.
    maxAbsDifference = Math.max(maxAbsDifference, difference);
    dot += a[index] * b[index];
    squaredNormA += a[index] * a[index];
    squaredNormB += b[index] * b[index];
  }

  return { maxAbsDifference, cosineSimilarity: cosine(dot, squaredNormA, squaredNormB) };
}

function cosine(dot: number, squaredNormA: number, squaredNormB: number): number {
  if (squaredNormA === 0 && squaredNormB === 0) return 1;
  if (squaredNormA === 0 || squaredNormB === 0) return 0;
  // Rounding can push the ratio of nearly parallel vectors just past ±1.
  return Math.min(1, Math.max(-1, dot / (Math.sqrt(squaredNormA) * Math.sqrt(squaredNormB))));
}

/**
 * Compares pooled embeddings row by row and returns the largest absolute difference and the lowest
 * cosine similarity over the rows. Throws RangeError when the row counts differ or there are none.
 */
export function summarizeDrift(reference: readonly Float32Array[], other: readonly Float32Array[]): PrecisionDrift {
  if (reference.length !== other.length || reference.length === 0) {
    throw new RangeError(`Cannot compare ${reference.length} embeddings with ${other.length}: expected the same number, at least 1.`);
  }
  let maxAbsDifference = 0;
  let cosineSimilarity = 1;
  for (let row = 0; row < reference.length; row += 1) {
    const drift = compareEmbeddings(reference[row], other[row]);
    maxAbsDifference = Math.max(maxAbsDifference, drift.maxAbsDifference);
    cosineSimilarity = Math.min(cosineSimilarity, drift.cosineSimilarity);
  }
  return { maxAbsDifference, cosineSimilarity, sequences: reference.length };
}
