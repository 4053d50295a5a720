/** The list of batch sizes that a sweep probes, and the default range for each batch unit. */

import type { BatchUnit } from '../report/result';

export interface SweepRange {
  min: number;
  max: number;
  step: number;
}

/** Upper bound on the points of one sweep, so that a typo such as step 1 over 1 to 100000 fails early. */
export const MAX_SWEEP_POINTS = 1000;

/**
 * Default sweep per unit. The token range 512 to 8192 in steps of 512 is the default of the earlier
 * command-line profiler. Both ranges are linear, so the recommendation can round to the step.
 */
export const DEFAULT_SWEEP: Readonly<Record<BatchUnit, Readonly<SweepRange>>> = Object.freeze({
  tokens: Object.freeze({ min: 512, max: 8192, step: 512 }),
  sequences: Object.freeze({ min: 4, max: 64, step: 4 }),
});

/** Returns a fresh copy of the default sweep range for `unit`. */
export function defaultSweepFor(unit: BatchUnit): SweepRange {
  return { ...DEFAULT_SWEEP[unit] };
}

function requirePositiveInteger(name: keyof SweepRange, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Invalid sweep ${name} ${String(value)}: expected a whole number ≥ 1.`);
  }
}

/**
 * Returns min, min + step, min + 2·step, … up to max. Max itself is included only when it is min plus
 * a whole number of steps. Throws a RangeError that names the bad value and the allowed range.
 */
export function planBatchSizes({ min, max, step }: SweepRange): number[] {
  requirePositiveInteger('min', min);
  requirePositiveInteger('step', step);
  if (!Number.isSafeInteger(max) || max < min) {
    throw new RangeError(`Invalid sweep max ${String(max)}: expected a whole number ≥ min (${min}).`);
  }

  const pointCount = Math.floor((max - min) / step) + 1;
  if (pointCount > MAX_SWEEP_POINTS) {
    throw new RangeError(
      `The sweep from ${min} to ${max} in steps of ${step} has ${pointCount} batch sizes, ` +
        `more than the limit of ${MAX_SWEEP_POINTS}. Increase the step or narrow the range.`,
    );
  }

  const batchSizes: number[] = [];
  for (let index = 0; index < pointCount; index++) batchSizes.push(min + index * step);
  return batchSizes;
}
