import { describe, expect, it } from 'vitest';
import { lengthStats } from '../../src/sequences/stats';

describe('lengthStats', () => {
  it.each([
    ['one value', [7], { min: 7, median: 7, max: 7 }],
    ['odd count', [5, 1, 9], { min: 1, median: 5, max: 9 }],
    ['even count', [10, 2, 4, 100], { min: 2, median: 7, max: 100 }],
    ['even count, half median', [1, 2], { min: 1, median: 1.5, max: 2 }],
    ['repeated values', [3, 3, 3, 8], { min: 3, median: 3, max: 8 }],
    ['numbers above 9 (numeric sort)', [100, 20, 3], { min: 3, median: 20, max: 100 }],
  ])('lengthStats handles %s', (_label, lengths, expected) => {
    expect(lengthStats(lengths)).toEqual(expected);
  });

  it('lengthStats leaves its input unsorted', () => {
    const lengths = [3, 1, 2];
    lengthStats(lengths);
    expect(lengths).toEqual([3, 1, 2]);
  });

  it('lengthStats rejects an empty list', () => {
    expect(() => lengthStats([])).toThrow(RangeError);
  });
});
