import { describe, expect, it } from 'vitest';
import type { PointResult, PointStatus } from '../../src/report/result';
import type { BatchShape } from '../../src/gpu/limits';
import { memoryPredictionSeries } from '../../src/profiling/memoryChart';

/** Exact coefficients, so that a fit to three or more distinct shapes reproduces them. */
const TRUTH = { fixedBytes: 40e6, bytesPerPaddedToken: 6000, bytesPerAttentionPair: 160 };

function truePeakBytes(sequences: number, paddedLength: number): number {
  return TRUTH.fixedBytes + TRUTH.bytesPerPaddedToken * sequences * paddedLength + TRUTH.bytesPerAttentionPair * sequences * paddedLength ** 2;
}

function point(batchSize: number, sequences: number, paddedLength: number, status: PointStatus = 'ok', peakBytes: number | null = truePeakBytes(sequences, paddedLength)): PointResult {
  return {
    batchSize,
    sequences,
    tokens: sequences * paddedLength,
    paddedTokens: sequences * paddedLength,
    status,
    medianMs: status === 'ok' ? 1 : null,
    p10Ms: status === 'ok' ? 1 : null,
    p90Ms: status === 'ok' ? 1 : null,
    runs: status === 'ok' ? 3 : 0,
    sequencesPerSecond: status === 'ok' ? 1 : null,
    tokensPerSecond: status === 'ok' ? 1 : null,
    peakBytes: status === 'ok' ? peakBytes : null,
    warmupMs: null,
  };
}

/** A token-budget sweep: the padded length changes with the batch, so all three terms can be fitted. */
const TOKEN_SWEEP: PointResult[] = [point(512, 4, 128), point(1024, 4, 256), point(1536, 12, 128), point(2048, 4, 512)];

describe('memoryPredictionSeries', () => {
  it('memoryPredictionSeries predicts at the points', () => {
    const series = memoryPredictionSeries(TOKEN_SWEEP);

    expect(series.map((entry) => entry.batchSize)).toEqual([512, 1024, 1536, 2048]);
    for (const [index, entry] of series.entries()) {
      const { sequences, paddedTokens } = TOKEN_SWEEP[index];
      expect(entry.peakBytes).toBeCloseTo(truePeakBytes(sequences, paddedTokens / sequences), -2);
    }
  });

  it('memoryPredictionSeries continues past failed points', () => {
    const points = [...TOKEN_SWEEP, point(2560, 5, 512, 'oom'), point(3072, 6, 512, 'device-lost')];

    const series = memoryPredictionSeries(points);

    expect(series.map((entry) => entry.batchSize)).toEqual([512, 1024, 1536, 2048, 2560, 3072]);
    expect(series[4].peakBytes).toBeCloseTo(truePeakBytes(5, 512), -2);
    expect(series[5].peakBytes).toBeCloseTo(truePeakBytes(6, 512), -2);
  });

  it('memoryPredictionSeries predicts at given shapes', () => {
    const shapes: BatchShape[] = [
      { batchSize: 16, sequences: 16, paddedLength: 300 },
      { batchSize: 8, sequences: 8, paddedLength: 300 },
      { batchSize: 8, sequences: 9, paddedLength: 999 },
    ];

    const series = memoryPredictionSeries(TOKEN_SWEEP, shapes);

    expect(series).toHaveLength(2);
    expect(series[0].batchSize).toBe(8);
    expect(series[0].peakBytes).toBeCloseTo(truePeakBytes(8, 300), -2);
    expect(series[1].batchSize).toBe(16);
    expect(series[1].peakBytes).toBeCloseTo(truePeakBytes(16, 300), -2);
  });

  it('memoryPredictionSeries passes fixedBytes to the fit', () => {
    // One sample alone fits a peak proportional to the padded tokens, which is exact only with the fixed part known.
    const points = [point(4, 4, 100)];

    const series = memoryPredictionSeries(points, [{ batchSize: 8, sequences: 8, paddedLength: 100 }], { fixedBytes: TRUTH.fixedBytes });

    expect(series[0].peakBytes).toBeCloseTo(truePeakBytes(8, 100), -2);
  });

  it('memoryPredictionSeries is empty without measured peaks', () => {
    const wasmPoints = [point(1, 1, 64, 'ok', null), point(2, 2, 64, 'ok', null)];

    expect(memoryPredictionSeries(wasmPoints)).toEqual([]);
    expect(memoryPredictionSeries([])).toEqual([]);
    expect(memoryPredictionSeries([point(1, 1, 64, 'oom')])).toEqual([]);
  });

  it('memoryPredictionSeries is empty when no fit is possible', () => {
    // A known fixed part above every measured peak leaves no fit with non-negative coefficients.
    expect(memoryPredictionSeries(TOKEN_SWEEP, undefined, { fixedBytes: 1e12 })).toEqual([]);
  });

  it.each([
    [{ batchSize: 0, sequences: 1, paddedLength: 10 }, 'batchSize 0'],
    [{ batchSize: 1, sequences: 0, paddedLength: 10 }, 'sequences 0'],
    [{ batchSize: 1, sequences: 1, paddedLength: Number.NaN }, 'paddedLength NaN'],
    [{ batchSize: Number.POSITIVE_INFINITY, sequences: 1, paddedLength: 10 }, 'batchSize Infinity'],
  ] as [BatchShape, string][])('memoryPredictionSeries rejects shape %o', (shape, named) => {
    expect(() => memoryPredictionSeries(TOKEN_SWEEP, [shape])).toThrow(RangeError);
    expect(() => memoryPredictionSeries(TOKEN_SWEEP, [shape])).toThrow(named);
  });
});
