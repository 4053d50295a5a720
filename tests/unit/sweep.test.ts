import { describe, expect, it } from 'vitest';
import type { PointResult, PointStatus } from '../../src/report/result';
import { STOPPING_STATUSES, estimateRemainingMs, runSweep, type SweepProgress } from '../../src/profiling/sweep';

const BATCH_SIZES = [4, 8, 12, 16, 20];

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
    warmupMs: ok ? batchSize * 2 : null,
  };
}

/**
 * Creates a probe on a fake clock. Batch size `b` takes `msPerUnit × b` ms and gets the status listed
 * for it, or 'ok'. `calls` records the batch sizes in the order they were probed.
 */
function fakeProbe(statuses: Record<number, PointStatus> = {}, msPerUnit = 2) {
  let timeMs = 0;
  const calls: number[] = [];
  return {
    calls,
    now: () => timeMs,
    probe: async (batchSize: number) => {
      calls.push(batchSize);
      timeMs += msPerUnit * batchSize;
      return point(batchSize, statuses[batchSize] ?? 'ok');
    },
  };
}

describe('runSweep', () => {
  it('runSweep probes every batch size in order', async () => {
    const fake = fakeProbe();

    const outcome = await runSweep(BATCH_SIZES, fake.probe, {}, fake.now);

    expect(fake.calls).toEqual(BATCH_SIZES);
    expect(outcome.points.map((result) => result.batchSize)).toEqual(BATCH_SIZES);
    expect(outcome.cancelled).toBe(false);
    expect(outcome.stoppedBy).toBeNull();
  });

  it.each([{ status: 'oom' }, { status: 'buffer-limit' }, { status: 'device-lost' }] as const)(
    'runSweep stops at the first $status',
    async ({ status }) => {
      const fake = fakeProbe({ 12: status, 16: status });

      const outcome = await runSweep(BATCH_SIZES, fake.probe, {}, fake.now);

      expect(fake.calls).toEqual([4, 8, 12]);
      expect(outcome.points.map((result) => result.status)).toEqual(['ok', 'ok', status]);
      expect(outcome.stoppedBy).toBe(outcome.points[2]);
      expect(outcome.cancelled).toBe(false);
    },
  );

  it('runSweep records a failure at the first batch size', async () => {
    const fake = fakeProbe({ 4: 'oom' });

    const outcome = await runSweep(BATCH_SIZES, fake.probe, {}, fake.now);

    expect(outcome.points).toHaveLength(1);
    expect(outcome.stoppedBy?.batchSize).toBe(4);
  });

  it.each([{ status: 'error' }, { status: 'invalid-output' }] as const)('runSweep continues past $status', async ({ status }) => {
    const fake = fakeProbe({ 8: status, 16: status });

    const outcome = await runSweep(BATCH_SIZES, fake.probe, {}, fake.now);

    expect(fake.calls).toEqual(BATCH_SIZES);
    expect(outcome.points.map((result) => result.status)).toEqual(['ok', status, 'ok', status, 'ok']);
    expect(outcome.stoppedBy).toBeNull();
  });

  it('runSweep stops at oom after an error', async () => {
    const fake = fakeProbe({ 8: 'error', 12: 'invalid-output', 16: 'oom' });

    const outcome = await runSweep(BATCH_SIZES, fake.probe, {}, fake.now);

    expect(outcome.points.map((result) => result.status)).toEqual(['ok', 'error', 'invalid-output', 'oom']);
    expect(outcome.stoppedBy?.batchSize).toBe(16);
  });

  it('runSweep keeps points when cancelled', async () => {
    const fake = fakeProbe();

    const outcome = await runSweep(BATCH_SIZES, fake.probe, { shouldStop: () => fake.calls.length >= 2 }, fake.now);

    expect(outcome.cancelled).toBe(true);
    expect(outcome.points.map((result) => result.batchSize)).toEqual([4, 8]);
    expect(outcome.stoppedBy).toBeNull();
    expect(fake.calls).toEqual([4, 8]);
  });

  it('runSweep cancels before the first probe', async () => {
    const fake = fakeProbe();
    const progress: SweepProgress[] = [];

    const outcome = await runSweep(BATCH_SIZES, fake.probe, { shouldStop: () => true, onProgress: (entry) => progress.push(entry) }, fake.now);

    expect(outcome.cancelled).toBe(true);
    expect(outcome.points).toEqual([]);
    expect(fake.calls).toEqual([]);
    expect(progress).toEqual([]);
  });

  it('runSweep polls shouldStop before each probe', async () => {
    const fake = fakeProbe();
    const callsAtPoll: number[] = [];

    const shouldStop = (): boolean => {
      callsAtPoll.push(fake.calls.length);
      return false;
    };

    await runSweep(BATCH_SIZES, fake.probe, { shouldStop }, fake.now);

    expect(callsAtPoll).toEqual([0, 1, 2, 3, 4]);
  });

  it('runSweep reports progress before each probe', async () => {
    const fake = fakeProbe({}, 2);
    const progress: SweepProgress[] = [];

    await runSweep([1, 2, 3, 4], fake.probe, { onProgress: (entry) => progress.push({ ...entry }) }, fake.now);

    expect(progress).toEqual([
      { index: 0, total: 4, batchSize: 1, elapsedMs: 0, remainingMs: null },
      { index: 1, total: 4, batchSize: 2, elapsedMs: 2, remainingMs: 18 },
      { index: 2, total: 4, batchSize: 3, elapsedMs: 6, remainingMs: 14 },
      { index: 3, total: 4, batchSize: 4, elapsedMs: 12, remainingMs: 8 },
    ]);
  });

  it('runSweep passes each point to onPoint', async () => {
    const fake = fakeProbe({ 12: 'error', 16: 'oom' });
    const received: [number, number, PointStatus][] = [];

    const outcome = await runSweep(BATCH_SIZES, fake.probe, { onPoint: (result, index) => received.push([index, result.batchSize, result.status]) }, fake.now);

    expect(received).toEqual([
      [0, 4, 'ok'],
      [1, 8, 'ok'],
      [2, 12, 'error'],
      [3, 16, 'oom'],
    ]);
    expect(outcome.points).toHaveLength(received.length);
  });

  it('runSweep passes on a probe rejection', async () => {
    const failure = new Error('The worker stopped responding.');

    const sweeping = runSweep(BATCH_SIZES, () => Promise.reject(failure), {}, () => 0);

    await expect(sweeping).rejects.toBe(failure);
  });

  it('runSweep returns no points for no batch sizes', async () => {
    const fake = fakeProbe();

    const outcome = await runSweep([], fake.probe, {}, fake.now);

    expect(outcome).toEqual({ points: [], cancelled: false, stoppedBy: null });
  });
});

describe('STOPPING_STATUSES', () => {
  it.each([
    { status: 'ok', stops: false },
    { status: 'oom', stops: true },
    { status: 'buffer-limit', stops: true },
    { status: 'device-lost', stops: true },
    { status: 'invalid-output', stops: false },
    { status: 'error', stops: false },
  ] as const)('STOPPING_STATUSES contains $status: $stops', ({ status, stops }) => {
    expect(STOPPING_STATUSES.has(status)).toBe(stops);
  });
});

describe('estimateRemainingMs', () => {
  it('estimateRemainingMs returns null before any probe', () => {
    expect(estimateRemainingMs([1, 2, 3], 0, [])).toBeNull();
  });

  it.each([
    { batchSizes: [1, 2, 3, 4], nextIndex: 1, probeMs: [5], expected: 45 },
    { batchSizes: [1, 2, 3, 4], nextIndex: 2, probeMs: [5, 10], expected: 35 },
    // 30 ms for 30 units so far, at 1 ms per unit: 70 units left.
    { batchSizes: [10, 20, 30, 40], nextIndex: 2, probeMs: [20, 10], expected: 70 },
    { batchSizes: [512, 1024], nextIndex: 2, probeMs: [100, 150], expected: 0 },
  ])('estimateRemainingMs scales by batch size from $probeMs', ({ batchSizes, nextIndex, probeMs, expected }) => {
    expect(estimateRemainingMs(batchSizes, nextIndex, probeMs)).toBeCloseTo(expected, 10);
  });
});
