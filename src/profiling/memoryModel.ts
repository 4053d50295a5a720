/**
 * A model of a batch's peak GPU bytes, fitted to the peaks of the first probes, so that the largest
 * batch within a memory budget can be predicted before it runs:
 *
 *   peakBytes ≈ fixed + a · paddedTokens + b · sequences · paddedLength²
 *
 * `fixed` is the weights and other buffers that do not depend on the batch. `a` covers the tensors that
 * grow with the padded tokens (hidden states, feed-forward activations). `b` covers the attention
 * scores, softmax output and bias, which grow with the query–key pairs per sequence.
 */
import type { PointResult } from '../report/result';
import type { BatchShape } from '../gpu/limits';

export type MemoryTerm = 'fixed' | 'paddedTokens' | 'attentionPairs';

/** One measured peak and the batch shape it was measured at. */
export interface MemorySample {
  sequences: number;
  paddedLength: number;
  peakBytes: number;
}

export interface MemoryModel {
  /** Terms whose coefficients were fitted; the others are 0, or `fixedBytes` was given. */
  terms: MemoryTerm[];
  fixedBytes: number;
  /** `a`: bytes per padded token. */
  bytesPerPaddedToken: number;
  /** `b`: bytes per query–key pair of one sequence, that is per sequence · paddedLength². */
  bytesPerAttentionPair: number;
  sampleCount: number;
  /** Root-mean-square difference between the measured and the fitted peaks. */
  rmsResidualBytes: number;
  /** Reason for fitting fewer than the three terms, or null when all three were fitted. */
  fallbackReason: string | null;
}

export interface MemoryFitOptions {
  /**
   * Known batch-independent bytes, such as the live bytes after the session was created. When given,
   * only `a` and `b` are fitted, so two samples determine both.
   */
  fixedBytes?: number;
}

/** Relative size below which a column of the normalized design matrix counts as dependent on the others. */
const RANK_TOLERANCE = 1e-9;

const TERM_FEATURES: Record<MemoryTerm, (sample: MemorySample) => number> = {
  fixed: () => 1,
  paddedTokens: ({ sequences, paddedLength }) => sequences * paddedLength,
  attentionPairs: ({ sequences, paddedLength }) => sequences * paddedLength * paddedLength,
};

/** Term sets in the order they are tried. The first that can be fitted with no negative coefficient wins. */
const TERM_SETS: readonly MemoryTerm[][] = [['fixed', 'paddedTokens', 'attentionPairs'], ['fixed', 'paddedTokens'], ['fixed', 'attentionPairs'], ['paddedTokens']];
const TERM_SETS_WITH_KNOWN_FIXED: readonly MemoryTerm[][] = [['paddedTokens', 'attentionPairs'], ['paddedTokens'], ['attentionPairs']];

/**
 * Returns the samples of the points that ran ('ok' with a measured peak). The padded length is
 * paddedTokens / sequences, because every row of a batch is padded to the same length.
 */
export function memorySamplesFromPoints(points: readonly PointResult[]): MemorySample[] {
  const samples: MemorySample[] = [];
  for (const point of points) {
    if (point.status !== 'ok' || point.peakBytes === null || point.sequences < 1 || point.paddedTokens < 1) continue;
    samples.push({ sequences: point.sequences, paddedLength: Math.round(point.paddedTokens / point.sequences), peakBytes: point.peakBytes });
  }
  return samples;
}

/**
 * Fits the model to `samples` by least squares. It falls back to fewer terms when there are fewer than
 * three samples, when the samples do not separate the terms, or when a fitted coefficient is negative.
 * Samples with one padded length throughout, for example, make paddedTokens and attentionPairs
 * proportional. The fallbacks, in order, are fixed + paddedTokens, fixed + attentionPairs, then
 * paddedTokens alone. The last makes the peak proportional to the padded tokens, which overestimates
 * larger batches when there is a fixed part. `fallbackReason` gives the reason.
 *
 * Throws a RangeError when there are no samples, a sample is invalid, or no term set fits with
 * non-negative coefficients (only possible when `options.fixedBytes` exceeds the measured peaks).
 */
export function fitMemoryModel(samples: readonly MemorySample[], options: MemoryFitOptions = {}): MemoryModel {
  if (samples.length === 0) throw new RangeError('Cannot fit a memory model to no samples: run at least one batch size first.');
  samples.forEach(validateSample);
  const knownFixedBytes = options.fixedBytes;
  if (knownFixedBytes !== undefined && (!Number.isFinite(knownFixedBytes) || knownFixedBytes < 0)) {
    throw new RangeError(`Invalid fixedBytes ${String(knownFixedBytes)}: expected a number of bytes ≥ 0.`);
  }

  const targets = samples.map((sample) => sample.peakBytes - (knownFixedBytes ?? 0));
  const termSets = knownFixedBytes === undefined ? TERM_SETS : TERM_SETS_WITH_KNOWN_FIXED;
  const reasons: string[] = [];

  for (const terms of termSets) {
    if (samples.length < terms.length) {
      reasons.push(`${samples.length} ${samples.length === 1 ? 'sample cannot' : 'samples cannot'} determine ${terms.length} terms`);
      continue;
    }
    const design = samples.map((sample) => terms.map((term) => TERM_FEATURES[term](sample)));
    const coefficients = solveLeastSquares(design, targets);
    if (coefficients === null) {
      reasons.push(describeSingularSystem(samples, terms));
      continue;
    }
    const negativeIndex = coefficients.findIndex((value) => value < 0);
    if (negativeIndex >= 0) {
      reasons.push(`the fitted ${terms[negativeIndex]} coefficient of ${terms.join(' + ')} was negative (${coefficients[negativeIndex].toPrecision(3)})`);
      continue;
    }

    const model: MemoryModel = {
      terms: [...terms],
      fixedBytes: knownFixedBytes ?? 0,
      bytesPerPaddedToken: 0,
      bytesPerAttentionPair: 0,
      sampleCount: samples.length,
      rmsResidualBytes: 0,
      fallbackReason: null,
    };
    terms.forEach((term, index) => assignCoefficient(model, term, coefficients[index]));
    model.rmsResidualBytes = rmsResidual(model, samples);
    if (terms.length < termSets[0].length) model.fallbackReason = `Fitted ${terms.join(' + ')} only, because ${reasons.join('; ')}.`;
    return model;
  }

  throw new RangeError(
    `No memory model with non-negative coefficients fits the ${samples.length} samples: ${reasons.join('; ')}. ` +
      'Check that fixedBytes is not above the measured peaks.',
  );
}

/** Returns the predicted peak bytes of a batch of `sequences` rows padded to `paddedLength` tokens. */
export function predictPeakBytes(model: MemoryModel, sequences: number, paddedLength: number): number {
  const paddedTokens = sequences * paddedLength;
  return model.fixedBytes + model.bytesPerPaddedToken * paddedTokens + model.bytesPerAttentionPair * paddedTokens * paddedLength;
}

/**
 * Returns the largest batch size among `candidates` (sorted by batch size here) up to which every
 * candidate's predicted peak is within `budgetBytes`, or null when the smallest is not. The prefix rule
 * matches a linear sweep, which stops at the first failure.
 */
export function largestBatchWithin(model: MemoryModel, budgetBytes: number, candidates: readonly BatchShape[]): number | null {
  if (!Number.isFinite(budgetBytes) || budgetBytes <= 0) {
    throw new RangeError(`Invalid budgetBytes ${String(budgetBytes)}: expected a number of bytes > 0.`);
  }
  const sorted = [...candidates].sort((a, b) => a.batchSize - b.batchSize);
  let largest: number | null = null;
  for (const candidate of sorted) {
    if (predictPeakBytes(model, candidate.sequences, candidate.paddedLength) > budgetBytes) break;
    largest = candidate.batchSize;
  }
  return largest;
}

function assignCoefficient(model: MemoryModel, term: MemoryTerm, value: number): void {
  if (term === 'fixed') model.fixedBytes = value;
  else if (term === 'paddedTokens') model.bytesPerPaddedToken = value;
  else model.bytesPerAttentionPair = value;
}

function rmsResidual(model: MemoryModel, samples: readonly MemorySample[]): number {
  let sumOfSquares = 0;
  for (const sample of samples) {
    const residual = sample.peakBytes - predictPeakBytes(model, sample.sequences, sample.paddedLength);
    sumOfSquares += residual * residual;
  }
  return Math.sqrt(sumOfSquares / samples.length);
}

function describeSingularSystem(samples: readonly MemorySample[], terms: readonly MemoryTerm[]): string {
  const lengths = new Set(samples.map((sample) => sample.paddedLength));
  if (lengths.size === 1 && terms.includes('paddedTokens') && terms.includes('attentionPairs')) {
    const [length] = lengths;
    return `paddedLength was ${length} in every sample, so paddedTokens and attentionPairs are proportional and cannot be told apart`;
  }
  const shapes = new Set(samples.map((sample) => `${sample.sequences}x${sample.paddedLength}`));
  if (shapes.size === 1) return `every sample has the same batch shape, so ${terms.join(' + ')} cannot be told apart`;
  return `the samples do not determine ${terms.join(' + ')} (the least-squares system is singular)`;
}

function validateSample(sample: MemorySample, index: number): void {
  const { sequences, paddedLength, peakBytes } = sample;
  if (!Number.isSafeInteger(sequences) || sequences < 1 || !Number.isSafeInteger(paddedLength) || paddedLength < 1) {
    throw new RangeError(`Invalid memory sample ${index}: sequences ${sequences} and paddedLength ${paddedLength} must be whole numbers ≥ 1.`);
  }
  if (!Number.isFinite(peakBytes) || peakBytes < 0) {
    throw new RangeError(`Invalid memory sample ${index}: peakBytes ${peakBytes} must be a number of bytes ≥ 0.`);
  }
}

/**
 * Solves min ‖X·c − y‖ by a QR decomposition (modified Gram–Schmidt) of X with each column scaled to
 * unit length, because the columns differ by many orders of magnitude. Returns null when a column is
 * within RANK_TOLERANCE of the span of the earlier ones, which makes the solution not unique.
 */
function solveLeastSquares(design: readonly number[][], targets: readonly number[]): number[] | null {
  const rowCount = design.length;
  const columnCount = design[0].length;
  const scales: number[] = [];
  const basis: number[][] = [];
  const upper: number[][] = Array.from({ length: columnCount }, () => new Array<number>(columnCount).fill(0));

  for (let column = 0; column < columnCount; column += 1) {
    const values = design.map((row) => row[column]);
    const scale = Math.hypot(...values);
    if (scale === 0) return null;
    scales.push(scale);
    const vector = values.map((value) => value / scale);

    // Two passes of Gram–Schmidt keep the basis orthogonal when columns are nearly dependent.
    for (let pass = 0; pass < 2; pass += 1) {
      for (let previous = 0; previous < column; previous += 1) {
        const projection = dot(basis[previous], vector);
        upper[previous][column] += projection;
        for (let row = 0; row < rowCount; row += 1) vector[row] -= projection * basis[previous][row];
      }
    }
    const norm = Math.hypot(...vector);
    if (norm < RANK_TOLERANCE) return null;
    upper[column][column] = norm;
    basis.push(vector.map((value) => value / norm));
  }

  // Back-substitution of R · c' = Qᵀ · y, then undo the column scaling.
  const scaled = new Array<number>(columnCount).fill(0);
  for (let column = columnCount - 1; column >= 0; column -= 1) {
    let value = dot(basis[column], targets);
    for (let later = column + 1; later < columnCount; later += 1) value -= upper[column][later] * scaled[later];
    scaled[column] = value / upper[column][column];
  }
  return scaled.map((value, column) => value / scales[column]);
}

function dot(a: readonly number[], b: readonly number[]): number {
  let total = 0;
  for (let index = 0; index < a.length; index += 1) total += a[index] * b[index];
  return total;
}
