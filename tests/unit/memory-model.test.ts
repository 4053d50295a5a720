import { describe, expect, it } from 'vitest';
import type { PointResult, PointStatus } from '../../src/report/result';
import { createRng } from '../../src/sequences/random';
import {
  fitMemoryModel,
  largestBatchWithin,
  memorySamplesFromPoints,
  predictPeakBytes,
  type MemoryModel,
  type MemorySample,
} from '../../src/profiling/memoryModel';

/** Coefficients near ESM-2 8M's: 30 MB of weights plus other fixed buffers, and 20 heads × 4 bytes × 2 live copies per query–key pair. */
const TRUTH = { fixedBytes: 40e6, bytesPerPaddedToken: 6000, bytesPerAttentionPair: 160 };

/** Batch shapes [sequences, paddedLength] as a token-budget sweep over proteins produces them. */
const SHAPES: [number, number][] = [
  [4, 130],
  [8, 130],
  [3, 258],
  [6, 258],
  [12, 200],
  [2, 514],
  [4, 514],
  [1, 1026],
  [16, 100],
  [24, 66],
];

function truePeakBytes(sequences: number, paddedLength: number): number {
  return TRUTH.fixedBytes + TRUTH.bytesPerPaddedToken * sequences * paddedLength + TRUTH.bytesPerAttentionPair * sequences * paddedLength ** 2;
}

/** Samples at `shapes` with uniform multiplicative noise of ±`noise`, drawn from `seed`. */
function samplesAt(shapes: [number, number][], noise = 0, seed = 1): MemorySample[] {
  const rng = createRng(seed);
  return shapes.map(([sequences, paddedLength]) => ({
    sequences,
    paddedLength,
    peakBytes: truePeakBytes(sequences, paddedLength) * (1 + noise * (2 * rng() - 1)),
  }));
}

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual / expected - 1);
}

function point(sequences: number, paddedLength: number, status: PointStatus, peakBytes: number | null): PointResult {
  return {
    batchSize: sequences,
    sequences,
    tokens: sequences * paddedLength,
    paddedTokens: sequences * paddedLength,
    status,
    medianMs: 1,
    p10Ms: 1,
    p90Ms: 1,
    runs: 3,
    sequencesPerSecond: 1,
    tokensPerSecond: 1,
    peakBytes,
    warmupMs: 1,
  };
}

describe('fitMemoryModel', () => {
  it('recovers exact coefficients from exact data', () => {
    const model = fitMemoryModel(samplesAt(SHAPES.slice(0, 5)));

    expect(model.terms).toEqual(['fixed', 'paddedTokens', 'attentionPairs']);
    expect(model.fallbackReason).toBeNull();
    expect(relativeError(model.fixedBytes, TRUTH.fixedBytes)).toBeLessThan(1e-9);
    expect(relativeError(model.bytesPerPaddedToken, TRUTH.bytesPerPaddedToken)).toBeLessThan(1e-9);
    expect(relativeError(model.bytesPerAttentionPair, TRUTH.bytesPerAttentionPair)).toBeLessThan(1e-9);
    expect(model.rmsResidualBytes).toBeLessThan(1);
    expect(model.sampleCount).toBe(5);
  });

  // With ±0.5% noise on 10 samples, the worst errors over 200 seeds are 1.7% (fixed), 9% (a) and 0.9%
  // (b): the T² term dominates these shapes, so `a` is the least determined.
  it.each(Array.from({ length: 20 }, (_, index) => index + 1))('recovers coefficients within tolerance, seed %i', (seed) => {
    const model = fitMemoryModel(samplesAt(SHAPES, 0.005, seed));

    expect(model.terms).toHaveLength(3);
    expect(relativeError(model.fixedBytes, TRUTH.fixedBytes)).toBeLessThan(0.03);
    expect(relativeError(model.bytesPerPaddedToken, TRUTH.bytesPerPaddedToken)).toBeLessThan(0.15);
    expect(relativeError(model.bytesPerAttentionPair, TRUTH.bytesPerAttentionPair)).toBeLessThan(0.02);
    for (const [sequences, paddedLength] of [
      [32, 130],
      [8, 514],
      [2, 1026],
    ]) {
      expect(relativeError(predictPeakBytes(model, sequences, paddedLength), truePeakBytes(sequences, paddedLength))).toBeLessThan(0.02);
    }
  });

  it('fits two terms from two samples', () => {
    const model = fitMemoryModel(samplesAt([SHAPES[0], SHAPES[3]]));

    expect(model.terms).toEqual(['fixed', 'paddedTokens']);
    expect(model.fallbackReason).toMatch(/^Fitted fixed \+ paddedTokens only, because 2 samples cannot determine 3 terms/);
    expect(model.bytesPerAttentionPair).toBe(0);
    expect(model.rmsResidualBytes).toBeLessThan(1);
  });

  it('fits a proportional model from one sample', () => {
    const model = fitMemoryModel(samplesAt([[8, 200]]));

    expect(model.terms).toEqual(['paddedTokens']);
    expect(model.fixedBytes).toBe(0);
    expect(model.bytesPerPaddedToken).toBeCloseTo(truePeakBytes(8, 200) / 1600, 6);
    expect(model.fallbackReason).toContain('1 sample cannot determine 3 terms');
    // Without the fixed part, the model overestimates larger batches.
    expect(predictPeakBytes(model, 16, 200)).toBeGreaterThan(truePeakBytes(16, 200));
  });

  it('falls back when paddedLength never changes', () => {
    const model = fitMemoryModel(samplesAt([
      [4, 130],
      [8, 130],
      [16, 130],
      [32, 130],
    ]));

    expect(model.terms).toEqual(['fixed', 'paddedTokens']);
    expect(model.fallbackReason).toContain('paddedLength was 130 in every sample');
    expect(relativeError(model.fixedBytes, TRUTH.fixedBytes)).toBeLessThan(1e-9);
    expect(relativeError(predictPeakBytes(model, 64, 130), truePeakBytes(64, 130))).toBeLessThan(1e-9);
  });

  it('falls back when every sample has one shape', () => {
    const model = fitMemoryModel(samplesAt([
      [8, 130],
      [8, 130],
      [8, 130],
    ]));

    expect(model.terms).toEqual(['paddedTokens']);
    expect(model.fallbackReason).toContain('every sample has the same batch shape');
  });

  it('drops a term with a negative coefficient', () => {
    const samples = SHAPES.slice(0, 6).map(([sequences, paddedLength]) => ({
      sequences,
      paddedLength,
      peakBytes: 40e6 + 20_000 * sequences * paddedLength - 5 * sequences * paddedLength ** 2,
    }));

    const model = fitMemoryModel(samples);

    expect(model.terms).not.toContain('attentionPairs');
    expect(model.fallbackReason).toMatch(/attentionPairs coefficient of fixed \+ paddedTokens \+ attentionPairs was negative/);
    expect(model.bytesPerPaddedToken).toBeGreaterThan(0);
  });

  it('fits a and b with known fixed bytes', () => {
    const model = fitMemoryModel(samplesAt([SHAPES[0], SHAPES[5]]), { fixedBytes: TRUTH.fixedBytes });

    expect(model.terms).toEqual(['paddedTokens', 'attentionPairs']);
    expect(model.fallbackReason).toBeNull();
    expect(model.fixedBytes).toBe(TRUTH.fixedBytes);
    expect(relativeError(model.bytesPerPaddedToken, TRUTH.bytesPerPaddedToken)).toBeLessThan(1e-9);
    expect(relativeError(model.bytesPerAttentionPair, TRUTH.bytesPerAttentionPair)).toBeLessThan(1e-9);
  });

  it('rejects known fixed bytes above the peaks', () => {
    expect(() => fitMemoryModel(samplesAt([SHAPES[0]]), { fixedBytes: 1e12 })).toThrow(/No memory model with non-negative coefficients/);
  });

  it('rejects no samples', () => {
    expect(() => fitMemoryModel([])).toThrow(/no samples/);
  });

  it.each([
    { sequences: 0, paddedLength: 10, peakBytes: 1 },
    { sequences: 1, paddedLength: 2.5, peakBytes: 1 },
    { sequences: 1, paddedLength: 10, peakBytes: -1 },
    { sequences: 1, paddedLength: 10, peakBytes: Number.NaN },
  ])('rejects invalid sample %o', (sample) => {
    expect(() => fitMemoryModel([sample])).toThrow(/Invalid memory sample 0/);
  });

  it.each([-1, Number.NaN])('rejects fixedBytes %s', (fixedBytes) => {
    expect(() => fitMemoryModel(samplesAt(SHAPES), { fixedBytes })).toThrow(/Invalid fixedBytes/);
  });
});

describe('predictPeakBytes', () => {
  it('evaluates fixed + a·paddedTokens + b·sequences·T²', () => {
    const model: MemoryModel = {
      terms: ['fixed', 'paddedTokens', 'attentionPairs'],
      fixedBytes: 1000,
      bytesPerPaddedToken: 10,
      bytesPerAttentionPair: 2,
      sampleCount: 3,
      rmsResidualBytes: 0,
      fallbackReason: null,
    };

    expect(predictPeakBytes(model, 3, 7)).toBe(1000 + 10 * 21 + 2 * 3 * 49);
  });
});

describe('largestBatchWithin', () => {
  const model = fitMemoryModel(samplesAt(SHAPES));
  const candidates = [16, 4, 8, 12, 20].map((sequences) => ({ batchSize: sequences, sequences, paddedLength: 514 }));

  it('returns the last candidate within the budget', () => {
    // 40 MB + 514 × (6000 + 160 × 514) bytes ≈ 40 MB + 45.4 MB per sequence.
    const budgetBytes = truePeakBytes(12, 514) + 1e6;

    expect(largestBatchWithin(model, budgetBytes, candidates)).toBe(12);
  });

  it('returns the largest when all fit', () => {
    expect(largestBatchWithin(model, 1e12, candidates)).toBe(20);
  });

  it('returns null when the smallest does not fit', () => {
    expect(largestBatchWithin(model, 50e6, candidates)).toBeNull();
  });

  it('stops at the first candidate over budget', () => {
    const shapes = [
      { batchSize: 4, sequences: 4, paddedLength: 130 },
      { batchSize: 8, sequences: 8, paddedLength: 1026 },
      { batchSize: 12, sequences: 12, paddedLength: 130 },
    ];

    expect(largestBatchWithin(model, truePeakBytes(12, 130) * 1.05, shapes)).toBe(4);
  });

  it.each([0, -5, Number.NaN])('rejects budget %s', (budgetBytes) => {
    expect(() => largestBatchWithin(model, budgetBytes, candidates)).toThrow(/Invalid budgetBytes/);
  });
});

describe('memorySamplesFromPoints', () => {
  it('keeps ok points with a peak', () => {
    const points = [
      point(4, 130, 'ok', 1e8),
      point(8, 130, 'oom', 3e8),
      point(6, 258, 'ok', null),
      point(12, 200, 'invalid-output', 2e8),
      point(3, 258, 'ok', 1.5e8),
    ];

    expect(memorySamplesFromPoints(points)).toEqual([
      { sequences: 4, paddedLength: 130, peakBytes: 1e8 },
      { sequences: 3, paddedLength: 258, peakBytes: 1.5e8 },
    ]);
  });
});
