import { describe, expect, it } from 'vitest';
import { MODEL_CATALOG, getModelConfig } from '../../src/models/catalog';
import { largestActivationTensor } from '../../src/models/counts';
import {
  checkBatchAgainstLimits,
  largestCandidateWithinLimits,
  maxSequencesWithinLimits,
  predictLargestTensor,
  type BatchShape,
} from '../../src/gpu/limits';

/** WebGPU's default limits, which every adapter supports. */
const DEFAULT_LIMITS = { maxBufferSize: 268_435_456, maxStorageBufferBindingSize: 134_217_728 };
/** Limits of 4 GiB minus 4 bytes, far above any tensor in these tests. */
const LARGE_LIMITS = { maxBufferSize: 4_294_967_292, maxStorageBufferBindingSize: 4_294_967_292 };

const ESM2_8M = getModelConfig('esm2_t6_8M');
const DNABERT_S = getModelConfig('dnabert_s');
const ESM2_TINY = getModelConfig('esm2_tiny');

describe('predictLargestTensor', () => {
  it('predicts ESM-2 attention scores', () => {
    const tensor = predictLargestTensor(ESM2_8M, 8, 1026);

    expect(tensor.name).toBe('attention scores');
    expect(tensor.dims).toEqual([8, 20, 1026, 1026]);
    expect(tensor.bytes).toBe(8 * 20 * 1026 * 1026 * 4);
  });

  it('predicts the DNABERT gated projection at short lengths', () => {
    // 2·ffn = 6144 is more than heads × T = 12 × 128.
    const tensor = predictLargestTensor(DNABERT_S, 32, 128);

    expect(tensor.name).toBe('feed-forward activation');
    expect(tensor.dims).toEqual([32, 128, 6144]);
    expect(tensor.bytes).toBe(32 * 128 * 6144 * 4);
  });

  it('predicts DNABERT attention scores at long lengths', () => {
    const tensor = predictLargestTensor(DNABERT_S, 4, 600);

    expect(tensor.name).toBe('attention scores');
    expect(tensor.dims).toEqual([4, 12, 600, 600]);
  });

  it('halves the bytes for float16', () => {
    expect(predictLargestTensor(ESM2_8M, 4, 300, 'float16').bytes).toBe(predictLargestTensor(ESM2_8M, 4, 300).bytes / 2);
  });

  it.each(MODEL_CATALOG.map((config) => [config.id, config] as const))('matches largestActivationTensor for %s', (_id, config) => {
    for (const [batch, length] of [
      [1, 16],
      [8, 128],
      [3, 514],
      [64, 1024],
    ]) {
      expect(predictLargestTensor(config, batch, length)).toEqual(largestActivationTensor(config, batch, length));
    }
  });

  it.each([
    [0, 100],
    [1.5, 100],
    [4, 0],
    [4, Number.NaN],
  ])('predictLargestTensor rejects batch %s, length %s', (batch, length) => {
    expect(() => predictLargestTensor(ESM2_8M, batch, length)).toThrow(RangeError);
  });
});

const ENFORCE_BINDING = { enforceBindingSize: true };

describe('checkBatchAgainstLimits', () => {
  it('accepts a batch under the limits', () => {
    expect(checkBatchAgainstLimits(ESM2_8M, 4, 300, DEFAULT_LIMITS)).toEqual({ ok: true });
    expect(checkBatchAgainstLimits(ESM2_8M, 4, 300, DEFAULT_LIMITS, ENFORCE_BINDING)).toEqual({ ok: true });
  });

  it('ignores the binding size by default', () => {
    // 151 MB of scores: above the 134 MB binding size, below the 268 MB buffer size.
    expect(checkBatchAgainstLimits(ESM2_TINY, 9, 1024, DEFAULT_LIMITS)).toEqual({ ok: true });
  });

  it('rejects scores above maxBufferSize', () => {
    const check = checkBatchAgainstLimits(ESM2_TINY, 17, 1024, DEFAULT_LIMITS);

    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.limitName).toBe('maxBufferSize');
    expect(check.limitBytes).toBe(268_435_456);
    expect(check.bytes).toBe(17 * 4 * 1024 * 1024 * 4);
    expect(check.message).toBe(
      'The attention scores tensor [17, 4, 1024, 1024] needs 285.21 MB, above maxBufferSize of 268.44 MB. ' +
        'Use a batch of at most 16 sequences at padded length 1024.',
    );
  });

  it('rejects ESM-2 scores above the binding size', () => {
    const check = checkBatchAgainstLimits(ESM2_8M, 8, 1026, DEFAULT_LIMITS, ENFORCE_BINDING);

    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.limitName).toBe('maxStorageBufferBindingSize');
    expect(check.limitBytes).toBe(134_217_728);
    expect(check.bytes).toBe(673_712_640);
    expect(check.tensor.name).toBe('attention scores');
    expect(check.message).toBe(
      'The attention scores tensor [8, 20, 1026, 1026] needs 673.71 MB, above maxStorageBufferBindingSize of 134.22 MB. ' +
        'Use a batch of at most 1 sequence at padded length 1026.',
    );
  });

  it('names maxBufferSize when only it is exceeded', () => {
    const limits = { maxBufferSize: 100_000_000, maxStorageBufferBindingSize: 200_000_000 };

    const check = checkBatchAgainstLimits(ESM2_8M, 2, 1026, limits, ENFORCE_BINDING);

    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.limitName).toBe('maxBufferSize');
    expect(check.limitBytes).toBe(100_000_000);
  });

  it('names the smaller of two exceeded limits', () => {
    const limits = { maxBufferSize: 50_000_000, maxStorageBufferBindingSize: 60_000_000 };

    const check = checkBatchAgainstLimits(ESM2_8M, 8, 1026, limits, ENFORCE_BINDING);

    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.limitName).toBe('maxBufferSize');
  });

  it('says when one sequence is too long', () => {
    const limits = { maxBufferSize: 10_000_000, maxStorageBufferBindingSize: 10_000_000 };

    const check = checkBatchAgainstLimits(ESM2_8M, 1, 1026, limits);

    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.message).toContain('Even one sequence of padded length 1026 exceeds it.');
  });

  it('checks float16 at half the bytes', () => {
    expect(checkBatchAgainstLimits(ESM2_TINY, 17, 1024, DEFAULT_LIMITS, { dtype: 'float16' })).toEqual({ ok: true });
  });

  it('passes large batches on large limits', () => {
    expect(checkBatchAgainstLimits(DNABERT_S, 64, 120, LARGE_LIMITS, ENFORCE_BINDING).ok).toBe(true);
  });

  it.each([
    { maxBufferSize: 0, maxStorageBufferBindingSize: 1 },
    { maxBufferSize: 1, maxStorageBufferBindingSize: Number.NaN },
  ])('checkBatchAgainstLimits rejects limits %o', (limits) => {
    expect(() => checkBatchAgainstLimits(ESM2_8M, 1, 10, limits)).toThrow(/Invalid WebGPU limit/);
  });
});

describe('maxSequencesWithinLimits', () => {
  it('divides maxBufferSize by the bytes per sequence', () => {
    const bytesPerSequence = 20 * 514 * 514 * 4;

    expect(maxSequencesWithinLimits(ESM2_8M, 514, DEFAULT_LIMITS)).toBe(Math.floor(268_435_456 / bytesPerSequence));
  });

  it('divides the binding size when enforced', () => {
    const bytesPerSequence = 20 * 514 * 514 * 4;

    expect(maxSequencesWithinLimits(ESM2_8M, 514, DEFAULT_LIMITS, ENFORCE_BINDING)).toBe(Math.floor(134_217_728 / bytesPerSequence));
  });

  it.each([{}, ENFORCE_BINDING])('agrees with checkBatchAgainstLimits at the boundary, options %o', (options) => {
    for (const length of [64, 130, 258, 514, 1026]) {
      const maxSequences = maxSequencesWithinLimits(ESM2_8M, length, DEFAULT_LIMITS, options);
      if (maxSequences > 0) expect(checkBatchAgainstLimits(ESM2_8M, maxSequences, length, DEFAULT_LIMITS, options).ok).toBe(true);
      expect(checkBatchAgainstLimits(ESM2_8M, maxSequences + 1, length, DEFAULT_LIMITS, options).ok).toBe(false);
    }
  });
});

describe('largestCandidateWithinLimits', () => {
  const candidates: BatchShape[] = [
    { batchSize: 16, sequences: 16, paddedLength: 258 },
    { batchSize: 4, sequences: 4, paddedLength: 258 },
    { batchSize: 8, sequences: 8, paddedLength: 258 },
    { batchSize: 12, sequences: 12, paddedLength: 258 },
  ];

  it('returns the last candidate of the fitting prefix', () => {
    // 20 × 258² × 4 bytes = 5.3 MB per sequence.
    expect(largestCandidateWithinLimits(ESM2_8M, candidates, DEFAULT_LIMITS)).toBe(16);
    expect(largestCandidateWithinLimits(ESM2_8M, candidates, { maxBufferSize: 60_000_000, maxStorageBufferBindingSize: 60_000_000 })).toBe(8);
  });

  it('returns null when the smallest does not fit', () => {
    expect(largestCandidateWithinLimits(ESM2_8M, candidates, { maxBufferSize: 1_000_000, maxStorageBufferBindingSize: 1_000_000 })).toBeNull();
  });

  it('returns null for no candidates', () => {
    expect(largestCandidateWithinLimits(ESM2_8M, [], DEFAULT_LIMITS)).toBeNull();
  });
});
