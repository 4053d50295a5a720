import type { LengthStats } from '../report/result';

/**
 * Computes the minimum, median and maximum of `lengths`. The median of an even count is the mean of the
 * two middle values. Throws RangeError for an empty list.
 */
export function lengthStats(lengths: readonly number[]): LengthStats {
  if (lengths.length === 0) {
    throw new RangeError('Cannot compute length statistics of an empty list: expected at least one length.');
  }

  const sorted = [...lengths].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}
