import { describe, expect, it } from 'vitest';
import { summarizeDrift } from '../../src/profiling/drift';

describe('summarizeDrift', () => {
  it('takes the worst row of each figure', () => {
    const reference = [Float32Array.from([1, 0]), Float32Array.from([0, 1])];
    const other = [Float32Array.from([1, 0.1]), Float32Array.from([0.5, 1])];

    const drift = summarizeDrift(reference, other);

    expect(drift.sequences).toBe(2);
    expect(drift.maxAbsDifference).toBeCloseTo(0.5, 6);
    // Row 2: cos = 1 / √1.25.
    expect(drift.cosineSimilarity).toBeCloseTo(1 / Math.sqrt(1.25), 6);
  });

  it('rejects different row counts', () => {
    expect(() => summarizeDrift([Float32Array.from([1])], [])).toThrow('Cannot compare 1 embeddings with 0');
  });
});
