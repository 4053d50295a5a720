/**
 * Checks the sweep settings before a run starts, with messages that use the labels on the page, so that
 * a bad value is caught before anything is measured or any earlier result is cleared.
 */
import type { BatchUnit } from '../report/result';
import { MAX_SWEEP_POINTS } from '../profiling/plan';

/** Sweep and measurement settings as the page edits them. Counts are whole numbers; headroom is a fraction. */
export interface SweepSettingsState {
  unit: BatchUnit;
  min: number;
  max: number;
  step: number;
  headroom: number;
  warmupRuns: number;
  minRuns: number;
  maxRuns: number;
  maxTimePerPointMs: number;
  /** Target relative standard error of the median, as a fraction; 0 turns the rule off. */
  targetRelativeError: number;
}

export class InvalidSettingError extends Error {
  override readonly name = 'InvalidSettingError';
}

function requireWholeNumber(label: string, value: number, min: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidSettingError(`${label} is empty. Enter a whole number, ${min} or more.`);
  }
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidSettingError(`${label} (${value}) must be a whole number, ${min} or more.`);
  }
}

/**
 * Throws InvalidSettingError naming the first invalid setting by its label on the page.
 * `longestTokens` is the longest input sequence in tokens, special tokens included. A token budget below
 * it cannot hold that sequence, so fair-esm's rule runs it alone, over the budget. A range made only of
 * such budgets is rejected.
 */
export function validateSweepSettings(settings: SweepSettingsState, longestTokens: number | null): void {
  const unitLabel = settings.unit === 'tokens' ? 'tokens' : 'sequences';
  requireWholeNumber('From', settings.min, 1);
  requireWholeNumber('To', settings.max, 1);
  requireWholeNumber('Step', settings.step, 1);

  if (settings.max < settings.min) {
    throw new InvalidSettingError(`To (${settings.max}) is below From (${settings.min}). Set To to ${settings.min} or more.`);
  }
  const pointCount = Math.floor((settings.max - settings.min) / settings.step) + 1;
  if (pointCount > MAX_SWEEP_POINTS) {
    throw new InvalidSettingError(
      `From ${settings.min} to ${settings.max} in steps of ${settings.step} makes ${pointCount} batch sizes; at most ${MAX_SWEEP_POINTS} are allowed. Raise Step or narrow the range.`,
    );
  }
  if (settings.unit === 'tokens' && longestTokens !== null && settings.max < longestTokens) {
    throw new InvalidSettingError(
      `To (${settings.max} ${unitLabel}) is below the longest input sequence, ${longestTokens} tokens with its special tokens, so every budget would run one sequence alone, over the budget. Set To to ${longestTokens} or more.`,
    );
  }

  if (!(settings.headroom > 0 && settings.headroom <= 1)) {
    throw new InvalidSettingError(`Headroom (${settings.headroom}) must be a fraction above 0 and at most 1, such as 0.8.`);
  }
  requireWholeNumber('Warm-up runs', settings.warmupRuns, 0);
  requireWholeNumber('Timed runs, at least', settings.minRuns, 1);
  requireWholeNumber('Timed runs, at most', settings.maxRuns, 1);
  if (settings.maxRuns < settings.minRuns) {
    throw new InvalidSettingError(`Timed runs, at most (${settings.maxRuns}) is below Timed runs, at least (${settings.minRuns}). Raise it to ${settings.minRuns} or more.`);
  }
  if (typeof settings.maxTimePerPointMs !== 'number' || !(settings.maxTimePerPointMs >= 0)) {
    throw new InvalidSettingError(`Time cap per batch size (${settings.maxTimePerPointMs}) must be a number of ms, 0 or more.`);
  }
  const targetError = settings.targetRelativeError;
  if (typeof targetError !== 'number' || Number.isNaN(targetError)) {
    throw new InvalidSettingError('Target error of the median is empty. Enter a fraction from 0 to 1, such as 0.02 for 2%; 0 turns it off.');
  }
  if (!(targetError >= 0 && targetError <= 1)) {
    throw new InvalidSettingError(`Target error of the median (${targetError}) must be a fraction from 0 to 1, such as 0.02 for 2%; 0 turns it off.`);
  }
}
