/** Turns the points of a sweep into the recommended batch size and a sentence that explains it. */

import type { BatchUnit, PointResult, PointStatus, Recommendation } from '../report/result';

export interface RecommendOptions {
  unit: BatchUnit;
  /** Sweep step. The recommendation is rounded down to a multiple of it. */
  step: number;
  /** Smallest batch size of the sweep. The recommendation is below it only when every point that ran is below it. */
  min: number;
  /** Fraction of the largest working batch to recommend, in (0, 1]. For example, 0.8 keeps 20% headroom. */
  headroom: number;
  /** True when the user stopped the sweep, so the reason does not claim that the range ended. */
  cancelled?: boolean;
}

const STATUS_DESCRIPTIONS: Record<PointStatus, string> = {
  ok: 'ran',
  oom: 'out of memory',
  'buffer-limit': "a buffer exceeded the device's size limit",
  'device-lost': 'the GPU device was lost',
  'invalid-output': 'the output was invalid',
  error: 'an error',
};

/** Returns a short plain-language description of a point status, such as "out of memory" for 'oom'. */
export function describePointStatus(status: PointStatus): string {
  return STATUS_DESCRIPTIONS[status];
}

const ADVICE_WHEN_NOTHING_RAN: Record<PointStatus, string> = {
  ok: '',
  oom: 'Lower the minimum batch size or choose a smaller model.',
  'buffer-limit': 'Lower the minimum batch size or choose a smaller model.',
  'device-lost': 'Reload the page and try again. If it happens again, lower the minimum batch size.',
  'invalid-output': "See the point's message for details.",
  error: "See the point's message for details.",
};

const SINGULAR_UNIT: Record<BatchUnit, string> = { sequences: 'sequence', tokens: 'token' };

function formatAmount(count: number, unit: BatchUnit): string {
  return `${count} ${count === 1 ? SINGULAR_UNIT[unit] : unit}`;
}

function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(1))}%`;
}

function formatFailure(point: PointResult, unit: BatchUnit): string {
  const description = describePointStatus(point.status);
  return `${formatAmount(point.batchSize, unit)}, failed with status ${point.status} (${description})`;
}

function requireOptions({ step, min, headroom }: RecommendOptions): void {
  if (!Number.isSafeInteger(step) || step < 1) {
    throw new RangeError(`Invalid step ${String(step)}: expected a whole number ≥ 1.`);
  }
  if (!Number.isSafeInteger(min) || min < 1) {
    throw new RangeError(`Invalid min ${String(min)}: expected a whole number ≥ 1.`);
  }
  if (!Number.isFinite(headroom) || headroom <= 0 || headroom > 1) {
    throw new RangeError(`Invalid headroom ${String(headroom)}: expected a fraction greater than 0 and at most 1.`);
  }
}

function recommendWhenNothingRan(sorted: readonly PointResult[], options: RecommendOptions): Recommendation {
  let reason: string;
  if (sorted.length === 0) {
    reason = options.cancelled
      ? 'The sweep was cancelled before any batch size ran, so there is no recommendation.'
      : 'No batch size was run, so there is no recommendation.';
  } else {
    const smallest = sorted[0];
    reason =
      `No batch size ran: the smallest, ${formatFailure(smallest, options.unit)}. ` +
      ADVICE_WHEN_NOTHING_RAN[smallest.status];
  }
  return { maxBatchSize: null, recommendedBatchSize: null, reason: reason.trim() };
}

/** Explains where the sweep ended, relative to the largest batch size that ran. */
function describeCeiling(sorted: readonly PointResult[], maxBatchSize: number, options: RecommendOptions): string {
  const largest = `The largest batch size that ran was ${formatAmount(maxBatchSize, options.unit)}`;
  const failureAbove = sorted.find((point) => point.batchSize > maxBatchSize && point.status !== 'ok');
  if (failureAbove) return `${largest}, and the next one, ${formatFailure(failureAbove, options.unit)}.`;
  if (options.cancelled) {
    return `${largest}. The sweep was cancelled before any batch size failed, so the real limit may be higher.`;
  }
  const exhausted = sorted.find((point) => point.inputExhausted);
  if (exhausted) {
    return `${largest}. The input ran out at ${formatAmount(exhausted.batchSize, options.unit)}: it has too few sequences to fill larger batches, so the sweep stopped there and the real limit may be higher. Load more sequences to test larger batches.`;
  }
  return `${largest}, the end of the range, without a failure, so the real limit may be higher.`;
}

/**
 * Recommends a batch size: the largest batch size with status 'ok', times `headroom`, rounded down
 * to a multiple of `step`. When that falls below `min`, it recommends `min` if `min` ran, otherwise
 * the smallest batch size at or above `min` that ran. When nothing ran, both sizes are null and the reason names the
 * failure of the smallest batch size. Throws a RangeError on invalid options.
 */
export function recommendBatchSize(points: readonly PointResult[], options: RecommendOptions): Recommendation {
  requireOptions(options);
  const { unit, step, min, headroom } = options;

  const sorted = [...points].sort((a, b) => a.batchSize - b.batchSize);
  const okPoints = sorted.filter((point) => point.status === 'ok');
  if (okPoints.length === 0) return recommendWhenNothingRan(sorted, options);

  const maxBatchSize = okPoints[okPoints.length - 1].batchSize;
  const ceiling = describeCeiling(sorted, maxBatchSize, options);

  // The small epsilon keeps products such as 0.29 × 100 = 28.999999999999996 from rounding down a step.
  const rounded = Math.floor((headroom * maxBatchSize) / step + 1e-9) * step;
  const scaled =
    `${formatPercent(headroom)} of ${formatAmount(maxBatchSize, unit)}, ` +
    `rounded down to the ${step}-${SINGULAR_UNIT[unit]} step`;

  if (rounded >= min) {
    const reason = `${ceiling} The recommendation is ${scaled}: ${formatAmount(rounded, unit)}.`;
    return { maxBatchSize, recommendedBatchSize: rounded, reason };
  }

  const belowMin = `${scaled}, is ${formatAmount(rounded, unit)}, below the minimum of ${formatAmount(min, unit)}`;
  const minRan = okPoints.some((point) => point.batchSize === min);
  if (minRan) {
    const reason =
      `${ceiling} ${capitalize(belowMin)}, ` +
      `so the recommendation is the minimum, ${formatAmount(min, unit)}, which ran.`;
    return { maxBatchSize, recommendedBatchSize: min, reason };
  }

  // Ok points below min only appear when the caller passes points from another sweep.
  const smallestOkFromMin = okPoints.find((point) => point.batchSize >= min);
  const fallback = smallestOkFromMin ?? okPoints[okPoints.length - 1];
  const fallbackName = smallestOkFromMin ? 'the smallest batch size that ran' : 'the largest batch size that ran';
  const reason =
    `${ceiling} ${capitalize(belowMin)}, which did not run, ` +
    `so the recommendation is ${fallbackName}: ${formatAmount(fallback.batchSize, unit)}.`;
  return { maxBatchSize, recommendedBatchSize: fallback.batchSize, reason };
}

function capitalize(sentence: string): string {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
