import { describe, expect, it } from 'vitest';
import { DEFAULT_SWEEP, MAX_SWEEP_POINTS, defaultSweepFor, planBatchSizes } from '../../src/profiling/plan';

describe('planBatchSizes', () => {
  it.each([
    { range: { min: 512, max: 2048, step: 512 }, expected: [512, 1024, 1536, 2048] },
    { range: { min: 4, max: 18, step: 4 }, expected: [4, 8, 12, 16] },
    { range: { min: 1, max: 1, step: 1 }, expected: [1] },
    { range: { min: 3, max: 5, step: 10 }, expected: [3] },
    { range: { min: 100, max: 1100, step: 500 }, expected: [100, 600, 1100] },
  ])('planBatchSizes plans $range', ({ range, expected }) => {
    expect(planBatchSizes(range)).toEqual(expected);
  });

  it('planBatchSizes plans 16 points for the token default', () => {
    const batchSizes = planBatchSizes(DEFAULT_SWEEP.tokens);
    expect(batchSizes).toHaveLength(16);
    expect(batchSizes[0]).toBe(512);
    expect(batchSizes[15]).toBe(8192);
  });

  it('planBatchSizes allows exactly the point limit', () => {
    expect(planBatchSizes({ min: 1, max: MAX_SWEEP_POINTS, step: 1 })).toHaveLength(MAX_SWEEP_POINTS);
  });

  it.each([
    { range: { min: 0, max: 10, step: 1 }, message: 'Invalid sweep min 0: expected a whole number ≥ 1.' },
    { range: { min: 1.5, max: 10, step: 1 }, message: 'Invalid sweep min 1.5: expected a whole number ≥ 1.' },
    { range: { min: 1, max: 10, step: 0 }, message: 'Invalid sweep step 0: expected a whole number ≥ 1.' },
    { range: { min: 1, max: 10, step: -2 }, message: 'Invalid sweep step -2: expected a whole number ≥ 1.' },
    { range: { min: 1, max: 10, step: Number.NaN }, message: 'Invalid sweep step NaN: expected a whole number ≥ 1.' },
    { range: { min: 512, max: 256, step: 512 }, message: 'Invalid sweep max 256: expected a whole number ≥ min (512).' },
    { range: { min: 1, max: 10.5, step: 1 }, message: 'Invalid sweep max 10.5: expected a whole number ≥ min (1).' },
    {
      range: { min: 1, max: Infinity, step: 1 },
      message: 'Invalid sweep max Infinity: expected a whole number ≥ min (1).',
    },
    {
      range: { min: 1, max: 100000, step: 1 },
      message:
        'The sweep from 1 to 100000 in steps of 1 has 100000 batch sizes, more than the limit of 1000. ' +
        'Increase the step or narrow the range.',
    },
  ])('planBatchSizes rejects $range', ({ range, message }) => {
    expect(() => planBatchSizes(range)).toThrow(message);
  });

  it('planBatchSizes throws RangeError on a bad range', () => {
    expect(() => planBatchSizes({ min: 0, max: 1, step: 1 })).toThrow(RangeError);
  });
});

describe('defaultSweepFor', () => {
  it('defaultSweepFor returns the token default', () => {
    expect(defaultSweepFor('tokens')).toEqual({ min: 512, max: 8192, step: 512 });
  });

  it('defaultSweepFor returns the sequence default', () => {
    expect(defaultSweepFor('sequences')).toEqual({ min: 4, max: 64, step: 4 });
  });

  it('defaultSweepFor returns a copy callers may change', () => {
    const sweep = defaultSweepFor('tokens');
    sweep.max = 1024;
    expect(DEFAULT_SWEEP.tokens.max).toBe(8192);
  });

  it('DEFAULT_SWEEP is frozen', () => {
    expect(Object.isFrozen(DEFAULT_SWEEP.sequences)).toBe(true);
  });
});
