import { describe, expect, it } from 'vitest';
import type { PointResult, PointStatus } from '../../src/report/result';
import { planBatchSizes } from '../../src/profiling/plan';
import { SEARCH_STRATEGIES, searchBatchSizes, type SearchProgress, type SearchStrategy } from '../../src/profiling/search';

/** The default token sweep: 512 to 8192 in steps of 512, 16 sizes. */
const TOKEN_SIZES = planBatchSizes({ min: 512, max: 8192, step: 512 });
/** A fine sequence sweep: 4 to 512 in steps of 4, 128 sizes. */
const FINE_SIZES = planBatchSizes({ min: 4, max: 512, step: 4 });

function point(batchSize: number, status: PointStatus): PointResult {
  const ok = status === 'ok';
  return {
    batchSize,
    sequences: batchSize,
    tokens: batchSize * 100,
    paddedTokens: batchSize * 120,
    status,
    message: ok ? undefined : `${status} at ${batchSize}`,
    medianMs: ok ? batchSize : null,
    p10Ms: ok ? batchSize : null,
    p90Ms: ok ? batchSize : null,
    runs: ok ? 3 : 0,
    sequencesPerSecond: ok ? 1000 : null,
    tokensPerSecond: ok ? 100_000 : null,
    peakBytes: null,
    warmupMs: null,
  };
}

/**
 * Creates a probe on a fake clock whose sizes fail from `ceilingSize` up with `failure`; null means none
 * fails. `overrides` sets the status of single sizes. Size `b` takes `b` ms of fake time.
 */
function fakeProbe(ceilingSize: number | null, failure: PointStatus = 'oom', overrides: Record<number, PointStatus> = {}) {
  let timeMs = 0;
  const calls: number[] = [];
  return {
    calls,
    now: () => timeMs,
    probe: async (batchSize: number) => {
      calls.push(batchSize);
      timeMs += batchSize;
      const status = overrides[batchSize] ?? (ceilingSize !== null && batchSize >= ceilingSize ? failure : 'ok');
      return point(batchSize, status);
    },
  };
}

/** Ceiling indices from "first size fails" (0) to "none fails" (length). */
function ceilingCases(sizes: readonly number[]): { ceilingIndex: number; ceilingSize: number | null }[] {
  return Array.from({ length: sizes.length + 1 }, (_, ceilingIndex) => ({
    ceilingIndex,
    ceilingSize: ceilingIndex < sizes.length ? sizes[ceilingIndex] : null,
  }));
}

function expectedMax(sizes: readonly number[], ceilingIndex: number): number | null {
  return ceilingIndex === 0 ? null : sizes[ceilingIndex - 1];
}

/** Returns a prediction at the last size that runs, or below the first size when none runs. */
function perfectPrediction(sizes: readonly number[], ceilingIndex: number): number {
  return ceilingIndex === 0 ? sizes[0] / 2 : sizes[ceilingIndex - 1];
}

describe('searchBatchSizes', () => {
  describe.each([
    { label: 'token sweep', sizes: TOKEN_SIZES },
    { label: 'fine sweep', sizes: FINE_SIZES },
  ])('on the $label', ({ sizes }) => {
    it.each(ceilingCases(sizes))('finds the same boundary, ceiling index $ceilingIndex', async ({ ceilingIndex, ceilingSize }) => {
      for (const strategy of SEARCH_STRATEGIES) {
        const fake = fakeProbe(ceilingSize);
        const predictedMaxBatchSize = strategy === 'auto' ? perfectPrediction(sizes, ceilingIndex) : undefined;

        const outcome = await searchBatchSizes(sizes, fake.probe, { strategy, predictedMaxBatchSize }, fake.now);

        expect(outcome.strategy).toBe(strategy);
        expect(outcome.maxWorkingBatchSize).toBe(expectedMax(sizes, ceilingIndex));
        expect(outcome.firstFailingBatchSize).toBe(ceilingSize);
        expect(outcome.cancelled).toBe(false);
        expect(outcome.probes).toBe(fake.calls.length);
        expect(new Set(fake.calls).size).toBe(fake.calls.length);
        expect(outcome.points.map((result) => result.batchSize)).toEqual([...fake.calls].sort((a, b) => a - b));
        expect(outcome.failedProbes).toBe(outcome.points.filter((result) => result.status === 'oom').length);
        expect(outcome.elapsedMs).toBe(fake.calls.reduce((sum, size) => sum + size, 0));
      }
    });

    it.each(ceilingCases(sizes))('counts probes per strategy, ceiling index $ceilingIndex', async ({ ceilingIndex, ceilingSize }) => {
      const logBound = Math.ceil(Math.log2(sizes.length));
      const probes: Partial<Record<SearchStrategy, number>> = {};
      for (const strategy of SEARCH_STRATEGIES) {
        const fake = fakeProbe(ceilingSize);
        const predictedMaxBatchSize = perfectPrediction(sizes, ceilingIndex);
        probes[strategy] = (await searchBatchSizes(sizes, fake.probe, { strategy, predictedMaxBatchSize }, fake.now)).probes;
      }

      expect(probes.linear).toBe(Math.min(ceilingIndex + 1, sizes.length));
      expect(probes['power-bisect']).toBeLessThanOrEqual(2 * logBound + 2);
      // A perfect prediction needs the predicted size and its neighbour above.
      expect(probes.auto).toBeLessThanOrEqual(2);
    });
  });

  it('auto uses far fewer probes than linear', async () => {
    const totals: Record<SearchStrategy, number> = { linear: 0, 'power-bisect': 0, auto: 0 };
    for (const { ceilingIndex, ceilingSize } of ceilingCases(FINE_SIZES)) {
      for (const strategy of SEARCH_STRATEGIES) {
        const fake = fakeProbe(ceilingSize);
        const predictedMaxBatchSize = perfectPrediction(FINE_SIZES, ceilingIndex);
        totals[strategy] += (await searchBatchSizes(FINE_SIZES, fake.probe, { strategy, predictedMaxBatchSize }, fake.now)).probes;
      }
    }

    expect(totals.linear).toBe(Array.from({ length: 129 }, (_, index) => Math.min(index + 1, 128)).reduce((sum, count) => sum + count, 0));
    expect(totals.auto * 20).toBeLessThan(totals.linear);
    expect(totals['power-bisect'] * 4).toBeLessThan(totals.linear);
  });

  it.each([-40, -7, -1, 1, 3, 9, 60])('auto finds the boundary from a prediction off by %i sizes', async (offset) => {
    const ceilingIndex = 50;
    const predictedIndex = Math.min(FINE_SIZES.length - 1, Math.max(0, ceilingIndex - 1 + offset));
    const fake = fakeProbe(FINE_SIZES[ceilingIndex]);

    const outcome = await searchBatchSizes(FINE_SIZES, fake.probe, { strategy: 'auto', predictedMaxBatchSize: FINE_SIZES[predictedIndex] }, fake.now);

    expect(fake.calls[0]).toBe(FINE_SIZES[predictedIndex]);
    expect(outcome.maxWorkingBatchSize).toBe(FINE_SIZES[ceilingIndex - 1]);
    expect(outcome.firstFailingBatchSize).toBe(FINE_SIZES[ceilingIndex]);
    expect(outcome.predictedMaxBatchSize).toBe(FINE_SIZES[predictedIndex]);
    expect(outcome.probes).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(Math.abs(offset) + 1)) + 2);
  });

  it('auto starts at the size below a prediction between sizes', async () => {
    const fake = fakeProbe(2048);

    await searchBatchSizes(TOKEN_SIZES, fake.probe, { strategy: 'auto', predictedMaxBatchSize: 1800 }, fake.now);

    expect(fake.calls[0]).toBe(1536);
  });

  it('auto without a prediction probes like power-bisect', async () => {
    const auto = fakeProbe(2560);
    const powerBisect = fakeProbe(2560);

    const outcome = await searchBatchSizes(TOKEN_SIZES, auto.probe, { strategy: 'auto', predictedMaxBatchSize: null }, auto.now);
    await searchBatchSizes(TOKEN_SIZES, powerBisect.probe, { strategy: 'power-bisect' }, powerBisect.now);

    expect(auto.calls).toEqual(powerBisect.calls);
    expect(outcome.predictedMaxBatchSize).toBeNull();
  });

  it('power-bisect doubles the index, then bisects', async () => {
    const fake = fakeProbe(5120);

    await searchBatchSizes(TOKEN_SIZES, fake.probe, { strategy: 'power-bisect' }, fake.now);

    // Indices 0, 1, 3, 7 (4096 runs) and 15 (8192 fails), then bisection: 11 (6144 fails), 9 (5120 fails), 8 (4608 runs).
    expect(fake.calls).toEqual([512, 1024, 2048, 4096, 8192, 6144, 5120, 4608]);
  });

  it.each(['buffer-limit', 'device-lost'] as const)('every strategy stops at %s', async (failure) => {
    for (const strategy of SEARCH_STRATEGIES) {
      const fake = fakeProbe(3072, failure);

      const outcome = await searchBatchSizes(TOKEN_SIZES, fake.probe, { strategy, predictedMaxBatchSize: 4096 }, fake.now);

      expect(outcome.maxWorkingBatchSize).toBe(2560);
      expect(outcome.firstFailingBatchSize).toBe(3072);
    }
  });

  it('every strategy searches past error statuses', async () => {
    for (const strategy of SEARCH_STRATEGIES) {
      const fake = fakeProbe(6144, 'oom', { 1024: 'error', 2048: 'invalid-output', 4096: 'error' });

      const outcome = await searchBatchSizes(TOKEN_SIZES, fake.probe, { strategy, predictedMaxBatchSize: 1024 }, fake.now);

      expect(outcome.maxWorkingBatchSize).toBe(5632);
      expect(outcome.firstFailingBatchSize).toBe(6144);
      expect(outcome.failedProbes).toBeGreaterThanOrEqual(1);
    }
  });

  it.each(SEARCH_STRATEGIES)('%s keeps points when cancelled', async (strategy) => {
    const fake = fakeProbe(4096);

    const outcome = await searchBatchSizes(TOKEN_SIZES, fake.probe, { strategy, predictedMaxBatchSize: 3072, shouldStop: () => fake.calls.length >= 2 }, fake.now);

    expect(outcome.cancelled).toBe(true);
    expect(outcome.probes).toBe(2);
    expect(outcome.points).toHaveLength(2);
  });

  it.each(SEARCH_STRATEGIES)('%s cancels before the first probe', async (strategy) => {
    const fake = fakeProbe(null);

    const outcome = await searchBatchSizes(TOKEN_SIZES, fake.probe, { strategy, shouldStop: () => true }, fake.now);

    expect(outcome.cancelled).toBe(true);
    expect(outcome.points).toEqual([]);
    expect(outcome.maxWorkingBatchSize).toBeNull();
    expect(outcome.firstFailingBatchSize).toBeNull();
  });

  it.each(SEARCH_STRATEGIES)('%s reports progress and points', async (strategy) => {
    const fake = fakeProbe(5632);
    const progress: SearchProgress[] = [];
    const pointIndices: number[] = [];

    const outcome = await searchBatchSizes(
      TOKEN_SIZES,
      fake.probe,
      { strategy, predictedMaxBatchSize: 3072, onProgress: (entry) => progress.push(entry), onPoint: (_point, index) => pointIndices.push(index) },
      fake.now,
    );

    expect(progress.map((entry) => entry.batchSize)).toEqual(fake.calls);
    expect(progress.map((entry) => entry.index)).toEqual(fake.calls.map((_, index) => index));
    expect(pointIndices).toEqual(fake.calls.map((_, index) => index));
    for (const entry of progress) expect(entry.total).toBeGreaterThanOrEqual(outcome.probes);
    expect(progress[0].remainingMs).toBeNull();
    expect(progress.at(-1)?.remainingMs).not.toBeNull();
  });

  it.each(SEARCH_STRATEGIES)('%s handles an empty plan', async (strategy) => {
    const fake = fakeProbe(null);

    const outcome = await searchBatchSizes([], fake.probe, { strategy, predictedMaxBatchSize: 8 }, fake.now);

    expect(outcome.probes).toBe(0);
    expect(outcome.maxWorkingBatchSize).toBeNull();
    expect(outcome.firstFailingBatchSize).toBeNull();
  });

  it.each(SEARCH_STRATEGIES)('%s handles a single size', async (strategy) => {
    const fake = fakeProbe(null);

    const outcome = await searchBatchSizes([64], fake.probe, { strategy, predictedMaxBatchSize: 64 }, fake.now);

    expect(fake.calls).toEqual([64]);
    expect(outcome.maxWorkingBatchSize).toBe(64);
  });

  it.each(SEARCH_STRATEGIES)('%s passes probe errors on', async (strategy) => {
    const probe = async (): Promise<PointResult> => {
      throw new Error('worker crashed');
    };

    await expect(searchBatchSizes(TOKEN_SIZES, probe, { strategy })).rejects.toThrow('worker crashed');
  });

  it.each([
    { label: 'unsorted', sizes: [8, 4] },
    { label: 'duplicate', sizes: [4, 4] },
    { label: 'fractional', sizes: [4, 6.5] },
    { label: 'zero', sizes: [0, 4] },
  ])('rejects a $label plan', async ({ sizes }) => {
    await expect(searchBatchSizes(sizes, fakeProbe(null).probe, { strategy: 'power-bisect' })).rejects.toThrow(RangeError);
  });

  it('rejects an unknown strategy', async () => {
    const options = { strategy: 'binary' as SearchStrategy };

    await expect(searchBatchSizes(TOKEN_SIZES, fakeProbe(null).probe, options)).rejects.toThrow(/Unknown search strategy "binary"/);
  });

  it.each([0, -4, Number.NaN])('rejects prediction %s', async (predictedMaxBatchSize) => {
    await expect(searchBatchSizes(TOKEN_SIZES, fakeProbe(null).probe, { strategy: 'auto', predictedMaxBatchSize })).rejects.toThrow(
      /Invalid predicted max batch size/,
    );
  });
});
