/**
 * Numerical drift between two embeddings of the same input, such as a float16 model's output against the
 * float32 model's. Both figures are computed in float64.
 */

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
