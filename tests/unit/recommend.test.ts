import { describe, expect, it } from 'vitest';
import type { PointResult, PointStatus } from '../../src/report/result';
import { describePointStatus, recommendBatchSize, type RecommendOptions } from '../../src/profiling/recommend';
import { buildSamplePoint, buildSampleResult } from './fixtures/sampleResult';

const TOKEN_OPTIONS: RecommendOptions = { unit: 'tokens', step: 512, min: 512, headroom: 0.8 };
const SEQUENCE_OPTIONS: RecommendOptions = { unit: 'sequences', step: 4, min: 4, headroom: 0.8 };

/** Builds points from [batchSize, status] pairs. */
function pointsOf(entries: [number, PointStatus][]): PointResult[] {
  return entries.map(([batchSize, status]) => buildSamplePoint(batchSize, status));
}

/** Builds ok points from `min` to `lastOk` in steps of `step`, then the given failures. */
function sweepOf(min: number, step: number, lastOk: number, failures: [number, PointStatus][] = []): PointResult[] {
  const entries: [number, PointStatus][] = [];
  for (let batchSize = min; batchSize <= lastOk; batchSize += step) entries.push([batchSize, 'ok']);
  return pointsOf([...entries, ...failures]);
}

describe('recommendBatchSize', () => {
  it('recommendBatchSize reproduces the sample recommendation', () => {
    const sample = buildSampleResult();
    expect(recommendBatchSize(sample.points, TOKEN_OPTIONS)).toEqual(sample.recommendation);
  });

  it('recommendBatchSize keeps 20% headroom', () => {
    const recommendation = recommendBatchSize(sweepOf(512, 512, 4096, [[4608, 'oom']]), TOKEN_OPTIONS);
    expect(recommendation.maxBatchSize).toBe(4096);
    expect(recommendation.recommendedBatchSize).toBe(3072);
    expect(recommendation.reason).toBe(
      'The largest batch size that ran was 4096 tokens, and the next one, 4608 tokens, failed with status oom ' +
        '(out of memory). The recommendation is 80% of 4096 tokens, rounded down to the 512-token step: 3072 tokens.',
    );
  });

  it('recommendBatchSize flags a sweep without failures', () => {
    const recommendation = recommendBatchSize(sweepOf(512, 512, 8192), TOKEN_OPTIONS);
    expect(recommendation.maxBatchSize).toBe(8192);
    expect(recommendation.recommendedBatchSize).toBe(6144);
    expect(recommendation.reason).toBe(
      'The largest batch size that ran was 8192 tokens, the end of the range, without a failure, so the real ' +
        'limit may be higher. The recommendation is 80% of 8192 tokens, rounded down to the 512-token step: 6144 tokens.',
    );
  });

  it('recommendBatchSize says when the sweep was cancelled', () => {
    const recommendation = recommendBatchSize(sweepOf(512, 512, 2048), { ...TOKEN_OPTIONS, cancelled: true });
    expect(recommendation.reason).toContain(
      'The largest batch size that ran was 2048 tokens. The sweep was cancelled before any batch size failed, ' +
        'so the real limit may be higher.',
    );
  });

  it('recommendBatchSize falls back to the minimum', () => {
    const recommendation = recommendBatchSize(pointsOf([[4, 'ok'], [8, 'oom']]), SEQUENCE_OPTIONS);
    expect(recommendation.maxBatchSize).toBe(4);
    expect(recommendation.recommendedBatchSize).toBe(4);
    expect(recommendation.reason).toBe(
      'The largest batch size that ran was 4 sequences, and the next one, 8 sequences, failed with status oom ' +
        '(out of memory). 80% of 4 sequences, rounded down to the 4-sequence step, is 0 sequences, below the ' +
        'minimum of 4 sequences, so the recommendation is the minimum, 4 sequences, which ran.',
    );
  });

  it('recommendBatchSize skips a failed minimum', () => {
    const points = pointsOf([[4, 'error'], [8, 'ok'], [12, 'oom']]);
    const recommendation = recommendBatchSize(points, { ...SEQUENCE_OPTIONS, headroom: 0.4 });
    expect(recommendation.recommendedBatchSize).toBe(8);
    expect(recommendation.reason).toContain(
      'below the minimum of 4 sequences, which did not run, so the recommendation is the smallest batch size ' +
        'that ran: 8 sequences.',
    );
  });

  it('recommendBatchSize returns nulls when no batch size ran', () => {
    const recommendation = recommendBatchSize(pointsOf([[512, 'oom']]), TOKEN_OPTIONS);
    expect(recommendation.maxBatchSize).toBeNull();
    expect(recommendation.recommendedBatchSize).toBeNull();
    expect(recommendation.reason).toBe(
      'No batch size ran: the smallest, 512 tokens, failed with status oom (out of memory). ' +
        'Lower the minimum batch size or choose a smaller model.',
    );
  });

  it('recommendBatchSize names the smallest failure', () => {
    const recommendation = recommendBatchSize(pointsOf([[1024, 'oom'], [512, 'device-lost']]), TOKEN_OPTIONS);
    expect(recommendation.reason).toContain(
      'the smallest, 512 tokens, failed with status device-lost (the GPU device was lost)',
    );
  });

  it('recommendBatchSize explains an empty sweep', () => {
    expect(recommendBatchSize([], TOKEN_OPTIONS).reason).toBe('No batch size was run, so there is no recommendation.');
  });

  it('recommendBatchSize explains a sweep cancelled before any point', () => {
    expect(recommendBatchSize([], { ...TOKEN_OPTIONS, cancelled: true }).reason).toBe(
      'The sweep was cancelled before any batch size ran, so there is no recommendation.',
    );
  });

  it('recommendBatchSize ignores the order of the points', () => {
    const points = sweepOf(512, 512, 4096, [[4608, 'oom']]);
    const reversed = [...points].reverse();
    expect(recommendBatchSize(reversed, TOKEN_OPTIONS)).toEqual(recommendBatchSize(points, TOKEN_OPTIONS));
  });

  it('recommendBatchSize recommends the maximum at headroom 1', () => {
    const recommendation = recommendBatchSize(sweepOf(512, 512, 4096, [[4608, 'oom']]), {
      ...TOKEN_OPTIONS,
      headroom: 1,
    });
    expect(recommendation.recommendedBatchSize).toBe(4096);
    expect(recommendation.reason).toContain('The recommendation is 100% of 4096 tokens');
  });

  it('recommendBatchSize does not lose a step to rounding error', () => {
    // 0.29 × 100 is 28.999999999999996 in floating point.
    const points = pointsOf([[100, 'ok'], [101, 'oom']]);
    const recommendation = recommendBatchSize(points, { unit: 'sequences', step: 1, min: 1, headroom: 0.29 });
    expect(recommendation.recommendedBatchSize).toBe(29);
  });

  it('recommendBatchSize shows a fractional headroom percentage', () => {
    const recommendation = recommendBatchSize(sweepOf(512, 512, 4096), { ...TOKEN_OPTIONS, headroom: 0.875 });
    expect(recommendation.reason).toContain('87.5% of 4096 tokens');
  });

  it('recommendBatchSize uses the singular for one sequence', () => {
    const points = pointsOf([[1, 'ok'], [2, 'oom']]);
    const recommendation = recommendBatchSize(points, { unit: 'sequences', step: 1, min: 1, headroom: 1 });
    expect(recommendation.reason).toBe(
      'The largest batch size that ran was 1 sequence, and the next one, 2 sequences, failed with status oom ' +
        '(out of memory). The recommendation is 100% of 1 sequence, rounded down to the 1-sequence step: 1 sequence.',
    );
  });

  it.each([
    { change: { step: 0 }, message: 'Invalid step 0: expected a whole number ≥ 1.' },
    { change: { min: 2.5 }, message: 'Invalid min 2.5: expected a whole number ≥ 1.' },
    { change: { headroom: 0 }, message: 'Invalid headroom 0: expected a fraction greater than 0 and at most 1.' },
    { change: { headroom: 1.5 }, message: 'Invalid headroom 1.5: expected a fraction greater than 0 and at most 1.' },
    { change: { headroom: Number.NaN }, message: 'Invalid headroom NaN: expected a fraction greater than 0 and at most 1.' },
  ])('recommendBatchSize rejects $change', ({ change, message }) => {
    expect(() => recommendBatchSize([], { ...TOKEN_OPTIONS, ...change })).toThrow(message);
  });
});

describe('describePointStatus', () => {
  it.each([
    { status: 'ok', expected: 'ran' },
    { status: 'oom', expected: 'out of memory' },
    { status: 'buffer-limit', expected: "a buffer exceeded the device's size limit" },
    { status: 'device-lost', expected: 'the GPU device was lost' },
    { status: 'invalid-output', expected: 'the output was invalid' },
    { status: 'error', expected: 'an error' },
  ] satisfies { status: PointStatus; expected: string }[])('describePointStatus describes $status', ({ status, expected }) => {
    expect(describePointStatus(status)).toBe(expected);
  });
});
