/**
 * The timing loop of one sweep point. Warm-up runs are timed apart from the measured runs, because the
 * first run of a shape compiles shaders and allocates buffers, which is not throughput. Every point is one
 * input shape, so each point is warmed up before it is timed.
 */
import { summarizeTimings, type TimingSummary } from './stats';

export interface MeasureSettings {
  /** Untimed-for-throughput runs before measuring. The first one's time is reported as `warmupMs`. Default 1. */
  warmupRuns: number;
  /** Timed runs that are always made, whatever the time cap. Default 3. */
  minRuns: number;
  /** Timed runs after which the point stops even under the time cap. Default 20. */
  maxRuns: number;
  /** Time cap for the timed runs of one point, in ms. More runs are started only while under it. Default 2000. */
  maxTimePerPointMs: number;
  /**
   * Target relative standard error of the median, as a fraction: timing stops once it is reached after
   * `minRuns`. Default 0.02. Optional so that older callers keep the plain run-count rule (0 disables it).
   */
  targetRelativeError?: number;
}

export const DEFAULT_MEASURE_SETTINGS: Required<MeasureSettings> = {
  warmupRuns: 1,
  minRuns: 3,
  maxRuns: 50,
  maxTimePerPointMs: 2000,
  targetRelativeError: 0.02,
};

/** Coefficient of variation above which a point is measured once more, and flagged unstable if it stays there. */
export const UNSTABLE_CV = 0.1;

export type MeasureStopReason = 'target-error' | 'time-cap' | 'max-runs';

export interface MeasuredRuns {
  /** Duration of the first warm-up run, in ms; null when `warmupRuns` is 0. */
  warmupMs: number | null;
  durationsMs: number[];
  /** Reason the timed runs ended: the target error reached, the time cap or `maxRuns`. */
  stopReason: MeasureStopReason;
}

/**
 * Runs `runOnce` for warm-up and then for timing.
 * 1. Warm-up runs, the first one timed on its own.
 * 2. Timed runs: at least `minRuns`, then more until the median's relative standard error reaches
 *    `targetRelativeError`, or the time cap or `maxRuns` ends them.
 * Timer resolution: browsers coarsen `performance.now()` to 5 µs in cross-origin-isolated pages and to
 * 100 µs elsewhere (MDN, DOMHighResTimeStamp), far below the run times measured here.
 */
export async function measureRuns(
  runOnce: () => Promise<void>,
  settings: MeasureSettings,
  now: () => number = () => performance.now(),
): Promise<MeasuredRuns> {
  validateMeasureSettings(settings);

  // 1. Warm-up.
  let warmupMs: number | null = null;
  for (let i = 0; i < settings.warmupRuns; i += 1) {
    const startMs = now();
    await runOnce();
    if (i === 0) warmupMs = now() - startMs;
  }

  // 2. Timed runs.
  const durationsMs = await timeRuns(runOnce, settings, now);
  return { warmupMs, ...durationsMs };
}

async function timeRuns(
  runOnce: () => Promise<void>,
  settings: MeasureSettings,
  now: () => number,
): Promise<{ durationsMs: number[]; stopReason: MeasureStopReason }> {
  const targetError = settings.targetRelativeError ?? 0;
  const durationsMs: number[] = [];
  const loopStartMs = now();
  while (durationsMs.length < settings.maxRuns) {
    if (durationsMs.length >= settings.minRuns) {
      if (targetError > 0 && durationsMs.length >= 2 && summarizeTimings(durationsMs).relativeStandardError <= targetError) {
        return { durationsMs, stopReason: 'target-error' };
      }
      if (now() - loopStartMs >= settings.maxTimePerPointMs) return { durationsMs, stopReason: 'time-cap' };
    }
    const startMs = now();
    await runOnce();
    durationsMs.push(now() - startMs);
  }
  return { durationsMs, stopReason: 'max-runs' };
}

export interface MeasuredPoint extends MeasuredRuns {
  timing: TimingSummary;
  /** True when the first timing had a coefficient of variation over UNSTABLE_CV, so the runs were timed again. */
  remeasured: boolean;
  /** True when the runs stayed noisy after the second timing: CV still over UNSTABLE_CV. */
  unstable: boolean;
}

/**
 * Measures one point: `measureRuns`, then, when the coefficient of variation is over UNSTABLE_CV, one
 * more round of timed runs on the warm shape, which replaces the first. A point still noisy after that
 * is flagged unstable. Both rounds stop by the same rules.
 */
export async function measurePoint(
  runOnce: () => Promise<void>,
  settings: MeasureSettings,
  now: () => number = () => performance.now(),
): Promise<MeasuredPoint> {
  const first = await measureRuns(runOnce, settings, now);
  const firstTiming = summarizeTimings(first.durationsMs);
  if (firstTiming.coefficientOfVariation <= UNSTABLE_CV) return { ...first, timing: firstTiming, remeasured: false, unstable: false };

  const second = await timeRuns(runOnce, settings, now);
  const timing = summarizeTimings(second.durationsMs);
  return { warmupMs: first.warmupMs, ...second, timing, remeasured: true, unstable: timing.coefficientOfVariation > UNSTABLE_CV };
}

/** Throws a RangeError that names the first setting out of range. */
export function validateMeasureSettings(settings: MeasureSettings): void {
  const checks: [keyof MeasureSettings, number, number][] = [
    ['warmupRuns', 0, 100],
    ['minRuns', 1, 1000],
    ['maxRuns', 1, 10000],
    ['maxTimePerPointMs', 0, 3_600_000],
    ['targetRelativeError', 0, 1],
  ];
  for (const [name, min, max] of checks) {
    const value = settings[name];
    if (value === undefined) continue;
    const mustBeInteger = name !== 'maxTimePerPointMs' && name !== 'targetRelativeError';
    if (!Number.isFinite(value) || value < min || value > max || (mustBeInteger && !Number.isInteger(value))) {
      throw new RangeError(`Invalid ${name}: ${value}. Expected ${mustBeInteger ? 'an integer' : 'a number'} from ${min} to ${max}.`);
    }
  }
  if (settings.maxRuns < settings.minRuns) {
    throw new RangeError(`Invalid maxRuns: ${settings.maxRuns} is below minRuns (${settings.minRuns}). Raise maxRuns or lower minRuns.`);
  }
}
