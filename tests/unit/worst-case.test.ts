import { describe, expect, it } from 'vitest';
import { assessWorstCase, type WorstCaseContext } from '../../src/profiling/worstCase';
import { unmeasuredPoint } from '../../src/profiling/sweep';
import { getModelConfig } from '../../src/models/catalog';
import type { PointResult } from '../../src/report/result';

/** Points of `sequences` rows at padded length 100 whose peaks follow 1 MiB + 400 bytes per padded token. */
function pointsAt(sequenceCounts: number[]): PointResult[] {
  return sequenceCounts.map((sequences) => {
    const paddedTokens = sequences * 100;
    return { ...unmeasuredPoint(sequences, 'ok', { sequences, tokens: paddedTokens, paddedTokens }), peakBytes: 2 ** 20 + 400 * paddedTokens };
  });
}

function context(overrides: Partial<WorstCaseContext>): WorstCaseContext {
  return {
    shape: { batchSize: 4, sequences: 4, paddedLength: 100 },
    points: pointsAt([2, 4, 8]),
    config: getModelConfig('esm2_tiny'),
    limits: { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 },
    budgetBytes: null,
    weightBytes: 2 ** 20,
    ...overrides,
  };
}

describe('assessWorstCase', () => {
  it('fits within a measured peak', () => {
    const check = assessWorstCase(context({}));

    expect(check.predictedPeakBytes).toBeCloseTo(2 ** 20 + 400 * 400, -2);
    expect(check.withinBufferLimit).toBe(true);
    expect(check.message).toContain('so it fits');
  });

  it('warns above every measured peak', () => {
    const check = assessWorstCase(context({ shape: { batchSize: 4, sequences: 4, paddedLength: 400 } }));

    expect(check.paddedTokens).toBe(1600);
    expect(check.message).toContain('above every peak measured');
  });

  it('reports a budget overrun', () => {
    const check = assessWorstCase(context({ shape: { batchSize: 4, sequences: 4, paddedLength: 400 }, budgetBytes: 2 ** 20 + 400 * 1000 }));

    expect(check.message).toContain('above the simulated budget');
  });

  it('reports a buffer limit before memory', () => {
    // 64 sequences × 4 heads × 1024² × 4 bytes = 1 GiB of attention scores, over a 256 MiB limit.
    const check = assessWorstCase(context({ shape: { batchSize: 64, sequences: 64, paddedLength: 1024 }, limits: { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27 } }));

    expect(check.withinBufferLimit).toBe(false);
    expect(check.predictedPeakBytes).toBeNull();
    expect(check.message).toContain('attention scores');
  });

  it('skips the prediction without GPU figures', () => {
    const points = pointsAt([2, 4]).map((point) => ({ ...point, peakBytes: null }));

    const check = assessWorstCase(context({ points, limits: null }));

    expect(check.predictedPeakBytes).toBeNull();
    expect(check.withinBufferLimit).toBeNull();
    expect(check.message).toContain('WASM backend');
  });
});
