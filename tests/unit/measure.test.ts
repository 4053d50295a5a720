import { describe, expect, it } from 'vitest';
import { DEFAULT_MEASURE_SETTINGS, measureRuns, validateMeasureSettings, type MeasureSettings } from '../../src/profiling/measure';

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

function settings(overrides: Partial<MeasureSettings>): MeasureSettings {
  return { ...DEFAULT_MEASURE_SETTINGS, ...overrides };
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
