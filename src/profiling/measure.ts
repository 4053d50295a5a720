/**
 * The timing loop of one sweep point. Warm-up runs are timed apart from the measured runs, because the
 * first run of a shape compiles shaders and allocates buffers, which is not throughput.
 */

export interface MeasureSettings {
  /** Untimed-for-throughput runs before measuring. The first one's time is reported as `warmupMs`. Default 1. */
  warmupRuns: number;
  /** Timed runs that are always made, whatever the time cap. Default 3. */
  minRuns: number;
  /** Timed runs after which the point stops even under the time cap. Default 20. */
  maxRuns: number;
  /** Time cap for the timed runs of one point, in ms. More runs are started only while under it. Default 2000. */
  maxTimePerPointMs: number;
}

export const DEFAULT_MEASURE_SETTINGS: MeasureSettings = {
  warmupRuns: 1,
  minRuns: 3,
  maxRuns: 20,
  maxTimePerPointMs: 2000,
};

export interface MeasuredRuns {
  /** Duration of the first warm-up run, in ms; null when `warmupRuns` is 0. */
  warmupMs: number | null;
  durationsMs: number[];
}

/**
 * Runs `runOnce` for warm-up and then for timing.
 * 1. Warm-up runs, the first one timed on its own.
 * 2. Timed runs: at least `minRuns`, then more while the cap and `maxRuns` allow.
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
  const durationsMs: number[] = [];
  const loopStartMs = now();
  while (durationsMs.length < settings.maxRuns) {
    const enoughRuns = durationsMs.length >= settings.minRuns;
    if (enoughRuns && now() - loopStartMs >= settings.maxTimePerPointMs) break;
    const startMs = now();
    await runOnce();
    durationsMs.push(now() - startMs);
  }
  return { warmupMs, durationsMs };
}

/** Throws a RangeError that names the first setting out of range. */
export function validateMeasureSettings(settings: MeasureSettings): void {
  const checks: [keyof MeasureSettings, number, number][] = [
    ['warmupRuns', 0, 100],
    ['minRuns', 1, 1000],
    ['maxRuns', 1, 10000],
    ['maxTimePerPointMs', 0, 3_600_000],
  ];
  for (const [name, min, max] of checks) {
    const value = settings[name];
    const mustBeInteger = name !== 'maxTimePerPointMs';
    if (!Number.isFinite(value) || value < min || value > max || (mustBeInteger && !Number.isInteger(value))) {
      throw new RangeError(`Invalid ${name}: ${value}. Expected ${mustBeInteger ? 'an integer' : 'a number'} from ${min} to ${max}.`);
    }
  }
  if (settings.maxRuns < settings.minRuns) {
    throw new RangeError(`Invalid maxRuns: ${settings.maxRuns} is below minRuns (${settings.minRuns}). Raise maxRuns or lower minRuns.`);
  }
}
