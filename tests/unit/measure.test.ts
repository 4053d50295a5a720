import { describe, expect, it } from 'vitest';
import { DEFAULT_MEASURE_SETTINGS, UNSTABLE_CV, measurePoint, measureRuns, validateMeasureSettings, type MeasureSettings } from '../../src/profiling/measure';

/**
 * Creates a fake clock and a run that advances it. Run number i (warm-up included) takes
 * `durationsMs[i]`, or the last listed duration once the list is used up.
 */
function fakeRuns(durationsMs: number[]): { now: () => number; runOnce: () => Promise<void>; calls: () => number } {
  let timeMs = 0;
  let calls = 0;
  return {
    now: () => timeMs,
    runOnce: async () => {
      timeMs += durationsMs[Math.min(calls, durationsMs.length - 1)];
      calls += 1;
    },
    calls: () => calls,
  };
}

/** Settings with the run-count rule only, unless a test sets `targetRelativeError`. */
function settings(overrides: Partial<MeasureSettings>): MeasureSettings {
  return { ...DEFAULT_MEASURE_SETTINGS, targetRelativeError: 0, ...overrides };
}

describe('measureRuns', () => {
  it('measureRuns separates the warm-up time', async () => {
    const runs = fakeRuns([100, 50, 10, 11, 12]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 2, minRuns: 3, maxRuns: 3 }), runs.now);

    expect(measured.warmupMs).toBe(100);
    expect(measured.durationsMs).toEqual([10, 11, 12]);
    expect(runs.calls()).toBe(5);
  });

  it('measureRuns reports only the first warm-up run', async () => {
    const runs = fakeRuns([30, 200, 10]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 2, minRuns: 1, maxRuns: 1 }), runs.now);

    expect(measured.warmupMs).toBe(30);
  });

  it('measureRuns returns null warmupMs without warm-up', async () => {
    const runs = fakeRuns([10]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 0, minRuns: 2, maxRuns: 2 }), runs.now);

    expect(measured.warmupMs).toBeNull();
    expect(measured.durationsMs).toEqual([10, 10]);
    expect(runs.calls()).toBe(2);
  });

  it('measureRuns makes minRuns past the cap', async () => {
    const runs = fakeRuns([10]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 0, minRuns: 3, maxRuns: 10, maxTimePerPointMs: 5 }), runs.now);

    expect(measured.durationsMs).toHaveLength(3);
  });

  it('measureRuns makes minRuns with a zero cap', async () => {
    const runs = fakeRuns([10]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 0, minRuns: 2, maxRuns: 10, maxTimePerPointMs: 0 }), runs.now);

    expect(measured.durationsMs).toHaveLength(2);
  });

  it('measureRuns stops at maxRuns under the cap', async () => {
    const runs = fakeRuns([1]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 1, minRuns: 2, maxRuns: 4, maxTimePerPointMs: 1000 }), runs.now);

    expect(measured.durationsMs).toHaveLength(4);
    expect(runs.calls()).toBe(5);
  });

  it.each([
    // Runs start while the elapsed time is under the cap, so the last one may end past it.
    { capMs: 35, runMs: 10, expectedRuns: 4 },
    { capMs: 30, runMs: 10, expectedRuns: 3 },
    { capMs: 100, runMs: 7, expectedRuns: 15 },
  ])('measureRuns stops after the $capMs ms cap', async ({ capMs, runMs, expectedRuns }) => {
    const runs = fakeRuns([runMs]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 0, minRuns: 1, maxRuns: 1000, maxTimePerPointMs: capMs }), runs.now);

    expect(measured.durationsMs).toHaveLength(expectedRuns);
  });

  it('measureRuns starts the cap after the warm-up', async () => {
    const runs = fakeRuns([1000, 10]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 1, minRuns: 1, maxRuns: 100, maxTimePerPointMs: 35 }), runs.now);

    expect(measured.warmupMs).toBe(1000);
    expect(measured.durationsMs).toHaveLength(4);
  });

  it('measureRuns rejects invalid settings before running', async () => {
    const runs = fakeRuns([10]);

    await expect(measureRuns(runs.runOnce, settings({ minRuns: 0 }), runs.now)).rejects.toThrow(RangeError);
    expect(runs.calls()).toBe(0);
  });

  it('measureRuns passes on a run failure', async () => {
    const failure = new Error('Invalid Buffer');

    const measuring = measureRuns(() => Promise.reject(failure), settings({}), () => 0);

    await expect(measuring).rejects.toBe(failure);
  });
});

describe('validateMeasureSettings', () => {
  it('validateMeasureSettings accepts the defaults', () => {
    expect(() => validateMeasureSettings(DEFAULT_MEASURE_SETTINGS)).not.toThrow();
  });

  it.each([
    { overrides: { warmupRuns: 0 } },
    { overrides: { warmupRuns: 100 } },
    { overrides: { minRuns: 1, maxRuns: 1 } },
    { overrides: { maxTimePerPointMs: 0 } },
    { overrides: { maxTimePerPointMs: 3_600_000 } },
  ])('validateMeasureSettings accepts $overrides', ({ overrides }) => {
    expect(() => validateMeasureSettings(settings(overrides))).not.toThrow();
  });

  it.each([
    { overrides: { warmupRuns: -1 }, message: 'Invalid warmupRuns: -1. Expected an integer from 0 to 100.' },
    { overrides: { warmupRuns: 101 }, message: 'Invalid warmupRuns: 101. Expected an integer from 0 to 100.' },
    { overrides: { warmupRuns: Number.NaN }, message: 'Invalid warmupRuns: NaN. Expected an integer from 0 to 100.' },
    { overrides: { minRuns: 0 }, message: 'Invalid minRuns: 0. Expected an integer from 1 to 1000.' },
    { overrides: { minRuns: 1001, maxRuns: 2000 }, message: 'Invalid minRuns: 1001. Expected an integer from 1 to 1000.' },
    { overrides: { maxRuns: 0 }, message: 'Invalid maxRuns: 0. Expected an integer from 1 to 10000.' },
    { overrides: { maxRuns: Infinity }, message: 'Invalid maxRuns: Infinity. Expected an integer from 1 to 10000.' },
    { overrides: { minRuns: 2.5 }, message: 'Invalid minRuns: 2.5. Expected an integer from 1 to 1000.' },
    { overrides: { maxTimePerPointMs: -5 }, message: 'Invalid maxTimePerPointMs: -5. Expected a number from 0 to 3600000.' },
    {
      overrides: { maxTimePerPointMs: 3_600_001 },
      message: 'Invalid maxTimePerPointMs: 3600001. Expected a number from 0 to 3600000.',
    },
    {
      overrides: { minRuns: 5, maxRuns: 4 },
      message: 'Invalid maxRuns: 4 is below minRuns (5). Raise maxRuns or lower minRuns.',
    },
  ])('validateMeasureSettings rejects $overrides', ({ overrides, message }) => {
    expect(() => validateMeasureSettings(settings(overrides))).toThrow(message);
  });

  it('validateMeasureSettings throws RangeError', () => {
    expect(() => validateMeasureSettings(settings({ maxRuns: 0 }))).toThrow(RangeError);
  });
});

describe('measureRuns target error', () => {
  it('stops once the median error is reached', async () => {
    const runs = fakeRuns([50, 100, 100, 100, 100]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 1, minRuns: 3, maxRuns: 50, maxTimePerPointMs: 1e6, targetRelativeError: 0.02 }), runs.now);

    expect(measured.durationsMs).toEqual([100, 100, 100]);
    expect(measured.stopReason).toBe('target-error');
  });

  it('keeps running noisy points until the target', async () => {
    // Alternating 90 and 110 ms: σ ≈ 10.3, so √(π/2)·σ/(√n·100) ≤ 0.02 needs n ≥ 42.
    const durations = [0, ...Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 90 : 110))];
    const runs = fakeRuns(durations);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 1, minRuns: 3, maxRuns: 60, maxTimePerPointMs: 1e6, targetRelativeError: 0.02 }), runs.now);

    expect(measured.stopReason).toBe('target-error');
    expect(measured.durationsMs.length).toBeGreaterThanOrEqual(42);
    expect(measured.durationsMs.length).toBeLessThan(60);
  });

  it('reports the time cap as the stop reason', async () => {
    const durations = [0, ...Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 50 : 150))];
    const runs = fakeRuns(durations);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 1, minRuns: 3, maxRuns: 60, maxTimePerPointMs: 500, targetRelativeError: 0.02 }), runs.now);

    expect(measured.stopReason).toBe('time-cap');
    // 50 + 150 + 50 + 150 + 50 = 450 ms is under the cap, so a sixth run starts.
    expect(measured.durationsMs).toHaveLength(6);
  });

  it('reports max runs as the stop reason', async () => {
    const runs = fakeRuns([0, 50, 150, 50, 150]);

    const measured = await measureRuns(runs.runOnce, settings({ warmupRuns: 1, minRuns: 2, maxRuns: 4, maxTimePerPointMs: 1e6, targetRelativeError: 0.001 }), runs.now);

    expect(measured.stopReason).toBe('max-runs');
    expect(measured.durationsMs).toHaveLength(4);
  });

  it('rejects a target error above 1', () => {
    expect(() => validateMeasureSettings(settings({ targetRelativeError: 1.5 }))).toThrow(/targetRelativeError: 1.5/);
  });
});

describe('measurePoint', () => {
  it('keeps a steady point as measured once', async () => {
    const runs = fakeRuns([40, 10, 10, 10]);

    const measured = await measurePoint(runs.runOnce, settings({ warmupRuns: 1, minRuns: 3, maxRuns: 3 }), runs.now);

    expect(measured.remeasured).toBe(false);
    expect(measured.unstable).toBe(false);
    expect(measured.timing.medianMs).toBe(10);
    expect(runs.calls()).toBe(4);
  });

  it('measures a noisy point again and keeps the second timing', async () => {
    // Warm-up, then 10/30/10 (CV ≈ 0.69), then a steady 20/20/20.
    const runs = fakeRuns([40, 10, 30, 10, 20, 20, 20]);

    const measured = await measurePoint(runs.runOnce, settings({ warmupRuns: 1, minRuns: 3, maxRuns: 3 }), runs.now);

    expect(measured.remeasured).toBe(true);
    expect(measured.unstable).toBe(false);
    expect(measured.durationsMs).toEqual([20, 20, 20]);
    expect(measured.warmupMs).toBe(40);
    expect(runs.calls()).toBe(7);
  });

  it('flags a point that stays noisy as unstable', async () => {
    const runs = fakeRuns([40, 10, 30, 10, 30, 10, 30]);

    const measured = await measurePoint(runs.runOnce, settings({ warmupRuns: 1, minRuns: 3, maxRuns: 3 }), runs.now);

    expect(measured.remeasured).toBe(true);
    expect(measured.unstable).toBe(true);
    expect(measured.timing.coefficientOfVariation).toBeGreaterThan(UNSTABLE_CV);
  });
});
