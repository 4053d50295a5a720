/** Summary statistics for the timed runs of one batch size. */

export interface TimingSummary {
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  meanMs: number;
  /** Sample standard deviation, which divides by runs − 1. It is 0 for a single run. */
  stdDevMs: number;
  /** stdDevMs / meanMs, or 0 when every run took 0 ms. */
  coefficientOfVariation: number;
  /**
   * Relative standard error of the median: the large-sample standard error of a median, √(π/2)·σ/√n,
   * divided by the median. An estimate that assumes roughly normal run times; 0 for a single run.
   */
  relativeStandardError: number;
  runs: number;
}

/** √(π/2): the ratio of the standard error of a sample median to that of the mean, for normal data. */
const MEDIAN_STANDARD_ERROR_FACTOR = Math.sqrt(Math.PI / 2);

/** Returns the relative standard error of the median of `runs` values (see TimingSummary). */
export function medianRelativeStandardError(stdDevMs: number, medianMs: number, runs: number): number {
  if (runs < 2 || medianMs <= 0) return 0;
  return (MEDIAN_STANDARD_ERROR_FACTOR * stdDevMs) / Math.sqrt(runs) / medianMs;
}

function requireFiniteValues(values: readonly number[], statistic: string): void {
  if (values.length === 0) throw new RangeError(`Cannot compute the ${statistic} of an empty list of values.`);
  const badIndex = values.findIndex((value) => !Number.isFinite(value));
  if (badIndex !== -1) {
    throw new RangeError(
      `Cannot compute the ${statistic}: the value at index ${badIndex} is ${String(values[badIndex])}, ` +
        'not a finite number.',
    );
  }
}

function percentileOfSorted(sorted: readonly number[], p: number): number {
  const rank = (p / 100) * (sorted.length - 1);
  const lowerIndex = Math.floor(rank);
  const upperIndex = Math.ceil(rank);
  const fraction = rank - lowerIndex;
  return sorted[lowerIndex] + fraction * (sorted[upperIndex] - sorted[lowerIndex]);
}

function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function requirePercent(p: number): void {
  if (!Number.isFinite(p) || p < 0 || p > 100) {
    throw new RangeError(`Invalid percentile ${String(p)}: expected a number from 0 to 100.`);
  }
}

/**
 * Returns the p-th percentile (p from 0 to 100) by linear interpolation between the closest ranks,
 * the method of NumPy's default and Excel's PERCENTILE.INC. Does not modify `values`.
 * Throws a RangeError on an empty list, a non-finite value or p outside [0, 100].
 */
export function percentile(values: readonly number[], p: number): number {
  requirePercent(p);
  requireFiniteValues(values, `${p}th percentile`);
  return percentileOfSorted(sortedCopy(values), p);
}

/** Returns the median: the mean of the two middle values for an even count. Throws like `percentile`. */
export function median(values: readonly number[]): number {
  requireFiniteValues(values, 'median');
  return percentileOfSorted(sortedCopy(values), 50);
}

/**
 * Summarizes the durations of the timed runs of one point, in milliseconds.
 * Throws a RangeError on an empty list or on a duration that is negative or not finite.
 */
export function summarizeTimings(durationsMs: readonly number[]): TimingSummary {
  requireFiniteValues(durationsMs, 'timing summary');
  const negativeIndex = durationsMs.findIndex((duration) => duration < 0);
  if (negativeIndex !== -1) {
    throw new RangeError(
      `Cannot summarize timings: the duration at index ${negativeIndex} is ${durationsMs[negativeIndex]} ms, ` +
        'but a duration must be ≥ 0.',
    );
  }

  const sorted = sortedCopy(durationsMs);
  const runs = sorted.length;
  const meanMs = sorted.reduce((sum, duration) => sum + duration, 0) / runs;
  const squaredDeviations = sorted.reduce((sum, duration) => sum + (duration - meanMs) ** 2, 0);
  const stdDevMs = runs > 1 ? Math.sqrt(squaredDeviations / (runs - 1)) : 0;

  const medianMs = percentileOfSorted(sorted, 50);
  return {
    medianMs,
    p10Ms: percentileOfSorted(sorted, 10),
    p90Ms: percentileOfSorted(sorted, 90),
    meanMs,
    stdDevMs,
    coefficientOfVariation: meanMs > 0 ? stdDevMs / meanMs : 0,
    relativeStandardError: medianRelativeStandardError(stdDevMs, medianMs, runs),
    runs,
  };
}
