import { describe, expect, it } from 'vitest';
import type { ProfileResult } from '../../src/report/result';
import { ResultValidationError, validateProfileResult } from '../../src/report/schema';
import { buildSampleResult } from './fixtures/sampleResult';

/** Runs validation and returns the thrown error, or fails the test when nothing was thrown. */
function validationErrorOf(value: unknown): ResultValidationError {
  try {
    validateProfileResult(value);
  } catch (error) {
    if (error instanceof ResultValidationError) return error;
    throw error;
  }
  throw new Error('expected validateProfileResult to throw');
}

function withChange(change: (result: ProfileResult & Record<string, unknown>) => void): unknown {
  const result = buildSampleResult() as ProfileResult & Record<string, unknown>;
  change(result);
  return result;
}

describe('validateProfileResult', () => {
  it('validateProfileResult accepts the sample result', () => {
    const sample = buildSampleResult();
    expect(validateProfileResult(sample)).toEqual(sample);
  });

  it('validateProfileResult drops unknown keys', () => {
    const value = withChange((result) => {
      result.extra = 'not in the contract';
      (result.points[0] as unknown as Record<string, unknown>).sequence = 'MKTAYIAKQR';
    });
    const validated = validateProfileResult(value) as unknown as Record<string, unknown>;
    expect(validated).not.toHaveProperty('extra');
    expect((validated.points as Record<string, unknown>[])[0]).not.toHaveProperty('sequence');
  });

  it('validateProfileResult accepts a sweep without ok points', () => {
    const value = withChange((result) => {
      result.points = [result.points[15]];
      result.recommendation = { maxBatchSize: null, recommendedBatchSize: null, reason: 'No batch size ran.' };
    });
    expect(validateProfileResult(value).recommendation.maxBatchSize).toBeNull();
  });

  it('validateProfileResult accepts a WASM result', () => {
    const value = withChange((result) => {
      result.environment.backend = 'wasm';
      result.environment.adapter = null;
      result.environment.limits = {};
      for (const point of result.points) point.peakBytes = null;
    });
    expect(validateProfileResult(value).environment.adapter).toBeNull();
  });

  const invalidCases: { name: string; change: (result: ProfileResult & Record<string, unknown>) => void; issue: string }[] = [
    {
      name: 'a median that is a string',
      change: (result) => ((result.points[3] as unknown as Record<string, unknown>).medianMs = 'abc'),
      issue: 'points[3].medianMs: expected a finite number ≥ 0 or null, got "abc"',
    },
    {
      name: 'a negative p90',
      change: (result) => (result.points[2].p90Ms = -1),
      issue: 'points[2].p90Ms: expected a finite number ≥ 0 or null, got -1',
    },
    {
      name: 'an infinite median',
      change: (result) => (result.points[2].medianMs = Infinity),
      issue: 'points[2].medianMs: expected a finite number ≥ 0 or null, got Infinity',
    },
    {
      name: 'a batch size of 0',
      change: (result) => (result.points[0].batchSize = 0),
      issue: 'points[0].batchSize: expected an integer ≥ 1, got 0',
    },
    {
      name: 'a fractional batch size',
      change: (result) => (result.points[0].batchSize = 1.5),
      issue: 'points[0].batchSize: expected an integer ≥ 1, got 1.5',
    },
    {
      name: 'a fractional peak byte count',
      change: (result) => (result.points[4].peakBytes = 10.5),
      issue: 'points[4].peakBytes: expected an integer ≥ 0 or null, got 10.5',
    },
    {
      name: 'an unknown status',
      change: (result) => ((result.points[1] as unknown as Record<string, unknown>).status = 'crashed'),
      issue: 'points[1].status: expected one of "ok", "oom", "buffer-limit", "device-lost", "invalid-output", "error", got "crashed"',
    },
    {
      name: 'a headroom of 0',
      change: (result) => (result.sweep.headroom = 0),
      issue: 'sweep.headroom: expected a fraction greater than 0 and at most 1, got 0',
    },
    {
      name: 'a headroom above 1',
      change: (result) => (result.sweep.headroom = 1.2),
      issue: 'sweep.headroom: expected a fraction greater than 0 and at most 1, got 1.2',
    },
    {
      name: 'a sweep whose min exceeds its max',
      change: (result) => (result.sweep.min = 9000),
      issue: 'sweep: expected min ≤ max',
    },
    {
      name: 'a createdAt that is not ISO 8601',
      change: (result) => (result.createdAt = 'yesterday'),
      issue: 'createdAt: expected an ISO 8601 date and time such as "2026-12-04T20:30:00.000Z", got "yesterday"',
    },
    {
      name: 'a createdAt on a day that does not exist',
      change: (result) => (result.createdAt = '2026-02-30T10:00:00Z'),
      issue: 'createdAt: expected a date that exists in the calendar, got "2026-02-30T10:00:00Z"',
    },
    {
      name: 'an older schema version',
      change: (result) => (result.schemaVersion = 0),
      issue: 'schemaVersion: expected schema version 1, got 0',
    },
    {
      name: 'a missing model',
      change: (result) => delete (result as Record<string, unknown>).model,
      issue: 'model: missing',
    },
    {
      name: 'a negative device limit',
      change: (result) => (result.environment.limits.maxBufferSize = -5),
      issue: 'environment.limits.maxBufferSize: expected an integer ≥ 0, got -5',
    },
    {
      name: 'a median length outside min and max',
      change: (result) => (result.input.lengthStats.median = 600),
      issue: 'input.lengthStats: expected min ≤ median ≤ max',
    },
    {
      name: 'a point message that is a number',
      change: (result) => ((result.points[15] as unknown as Record<string, unknown>).message = 42),
      issue: 'points[15].message: expected a string, got 42',
    },
    {
      name: 'a points field that is not an array',
      change: (result) => ((result as Record<string, unknown>).points = 'none'),
      issue: 'points: expected an array of points, got "none"',
    },
  ];

  it.each(invalidCases)('validateProfileResult reports $name', ({ change, issue }) => {
    const error = validationErrorOf(withChange(change));
    expect(error.issues).toContain(issue);
  });

  it.each([
    { name: 'null', value: null, received: 'null' },
    { name: 'a string', value: 'report', received: '"report"' },
    { name: 'an array', value: [], received: 'an array' },
  ])('validateProfileResult rejects $name as the document', ({ value, received }) => {
    expect(validationErrorOf(value).issues).toEqual([`(document): expected an object, got ${received}`]);
  });

  it('validateProfileResult reports a malformed date once', () => {
    const error = validationErrorOf(withChange((result) => (result.createdAt = 'yesterday')));
    expect(error.issues).toHaveLength(1);
  });

  it('validateProfileResult shortens long received strings', () => {
    const error = validationErrorOf(withChange((result) => (result.createdAt = 'x'.repeat(200))));
    expect(error.issues[0]).toContain(`got "${'x'.repeat(40)}…"`);
  });

  it('validateProfileResult reports a wrong maxBatchSize', () => {
    const error = validationErrorOf(withChange((result) => (result.recommendation.maxBatchSize = 8192)));
    expect(error.issues).toEqual([
      'recommendation.maxBatchSize: expected 7680, the largest batchSize among points with status "ok", got 8192',
    ]);
  });

  it('validateProfileResult reports a maxBatchSize when nothing ran', () => {
    const value = withChange((result) => {
      for (const point of result.points) point.status = 'oom';
    });
    const error = validationErrorOf(value);
    expect(error.issues[0]).toBe(
      'recommendation.maxBatchSize: expected null because no point has status "ok", got 7680',
    );
  });

  it('validateProfileResult reports a recommendation above the maximum', () => {
    const error = validationErrorOf(withChange((result) => (result.recommendation.recommendedBatchSize = 8192)));
    expect(error.issues).toEqual([
      'recommendation.recommendedBatchSize: expected at most maxBatchSize (7680), got 8192',
    ]);
  });

  it('validateProfileResult reports a missing recommendation', () => {
    const error = validationErrorOf(withChange((result) => (result.recommendation.recommendedBatchSize = null)));
    expect(error.issues).toEqual([
      'recommendation.recommendedBatchSize: expected a batch size because maxBatchSize is set, got null',
    ]);
  });

  it('validateProfileResult reports a recommendation without a maximum', () => {
    const value = withChange((result) => {
      for (const point of result.points) point.status = 'oom';
      result.recommendation.maxBatchSize = null;
    });
    expect(validationErrorOf(value).issues).toEqual([
      'recommendation.recommendedBatchSize: expected null because maxBatchSize is null, got 6144',
    ]);
  });

  it('validateProfileResult lists every issue but names only five', () => {
    const value = withChange((result) => {
      for (const point of result.points.slice(0, 7)) point.runs = -1;
    });
    const error = validationErrorOf(value);
    expect(error.issues).toHaveLength(7);
    expect(error.message).toContain('The profile result is invalid (7 problems):');
    expect(error.message).toContain('points[4].runs: expected an integer ≥ 0, got -1');
    expect(error.message).not.toContain('points[5].runs');
    expect(error.message).toContain('… and 2 more.');
    expect(error.message).toMatch(/run the profile again\.$/);
  });

  it('validateProfileResult names a newer schema version', () => {
    const error = validationErrorOf(withChange((result) => (result.schemaVersion = 2)));
    expect(error.fromNewerVersion).toBe(true);
    expect(error.message).toContain('made by a newer version of the batch profiler (schema version 2)');
    expect(error.issues).toEqual(['schemaVersion: expected 1 or lower, got 2']);
  });

  it('validateProfileResult marks ordinary errors as not newer', () => {
    const error = validationErrorOf(withChange((result) => (result.schemaVersion = 0)));
    expect(error.fromNewerVersion).toBe(false);
  });

  it('ResultValidationError has its own name', () => {
    const error = validationErrorOf(null);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ResultValidationError');
  });
});
