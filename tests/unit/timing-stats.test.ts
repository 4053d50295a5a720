import { describe, expect, it } from 'vitest';
import { median, percentile, summarizeTimings } from '../../src/profiling/stats';

describe('median', () => {
  it.each([
    { values: [5], expected: 5 },
    { values: [3, 1, 2], expected: 2 },
    { values: [4, 1, 3, 2], expected: 2.5 },
    { values: [-2, -8, 10], expected: -2 },
  ])('median of $values is $expected', ({ values, expected }) => {
    expect(median(values)).toBe(expected);
  });

  it('median leaves its input unsorted', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('median throws on an empty list', () => {
    expect(() => median([])).toThrow('Cannot compute the median of an empty list of values.');
  });
});

describe('percentile', () => {
  const values = [15, 20, 35, 40, 50];

  it.each([
    { p: 0, expected: 15 },
    { p: 100, expected: 50 },
    { p: 50, expected: 35 },
    { p: 25, expected: 20 },
    { p: 10, expected: 17 },
    { p: 90, expected: 46 },
    { p: 40, expected: 29 },
  ])('percentile interpolates linearly at p=$p', ({ p, expected }) => {
    expect(percentile(values, p)).toBeCloseTo(expected, 10);
  });

  it('percentile of one value is that value', () => {
    expect(percentile([7], 90)).toBe(7);
  });

  it('percentile ignores input order', () => {
    expect(percentile([50, 15, 40, 20, 35], 10)).toBeCloseTo(17, 10);
  });

  it.each([-1, 100.5, Number.NaN, Infinity])('percentile rejects p=%s', (p) => {
    expect(() => percentile(values, p)).toThrow(`Invalid percentile ${p}: expected a number from 0 to 100.`);
  });

  it.each([
    { value: Number.NaN, shown: 'NaN' },
    { value: Infinity, shown: 'Infinity' },
  ])('percentile rejects a value of $shown', ({ value, shown }) => {
    expect(() => percentile([1, value, 3], 50)).toThrow(`the value at index 1 is ${shown}, not a finite number`);
  });

  it('percentile throws on an empty list', () => {
    expect(() => percentile([], 50)).toThrow('empty list');
  });
});

describe('summarizeTimings', () => {
  it('summarizeTimings computes every statistic', () => {
    const summary = summarizeTimings([12, 10, 14, 11, 13]);
    expect(summary.runs).toBe(5);
    expect(summary.medianMs).toBe(12);
    expect(summary.meanMs).toBe(12);
    expect(summary.p10Ms).toBeCloseTo(10.4, 10);
    expect(summary.p90Ms).toBeCloseTo(13.6, 10);
    // Sample standard deviation: sqrt((4 + 1 + 0 + 1 + 4) / 4).
    expect(summary.stdDevMs).toBeCloseTo(Math.sqrt(2.5), 10);
    expect(summary.coefficientOfVariation).toBeCloseTo(Math.sqrt(2.5) / 12, 10);
  });

  it('summarizeTimings reports zero spread for one run', () => {
    const summary = summarizeTimings([8.25]);
    expect(summary.stdDevMs).toBe(0);
    expect(summary.coefficientOfVariation).toBe(0);
    expect(summary.p10Ms).toBe(8.25);
    expect(summary.p90Ms).toBe(8.25);
  });

  it('summarizeTimings reports zero variation when every run took 0 ms', () => {
    expect(summarizeTimings([0, 0, 0]).coefficientOfVariation).toBe(0);
  });

  it('summarizeTimings leaves its input unsorted', () => {
    const durations = [3, 1, 2];
    summarizeTimings(durations);
    expect(durations).toEqual([3, 1, 2]);
  });

  it('summarizeTimings throws on an empty list', () => {
    expect(() => summarizeTimings([])).toThrow('Cannot compute the timing summary of an empty list of values.');
  });

  it('summarizeTimings rejects a non-finite duration', () => {
    expect(() => summarizeTimings([1, 2, Number.NaN])).toThrow('the value at index 2 is NaN, not a finite number');
  });

  it('summarizeTimings rejects a negative duration', () => {
    expect(() => summarizeTimings([1, -0.5])).toThrow('the duration at index 1 is -0.5 ms, but a duration must be ≥ 0');
  });

  it('summarizeTimings throws RangeError on bad input', () => {
    expect(() => summarizeTimings([])).toThrow(RangeError);
  });
});
