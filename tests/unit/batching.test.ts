import { describe, expect, it } from 'vitest';
import {
  selectWorstCaseBatch,
  buildEsmBatchTensors,
  selectSequenceBatch,
  selectTokenBudgetBatch,
  tokenBudgetBatches,
  tokenCountsOf,
  type Batch,
} from '../../src/sequences/batching';
import { InvalidBatchRequestError } from '../../src/sequences/errors';
import { ESM_PAD_ID, encodeEsm } from '../../src/sequences/protein';
import { DEFAULT_SYNTHETIC_PROTEINS, synthesizeProteins } from '../../src/sequences/synthetic';

const HAND_CHECKED_LENGTHS = [10, 12, 30, 31, 5];

describe('tokenCountsOf', () => {
  it('tokenCountsOf adds cls and eos to each length', () => {
    expect(tokenCountsOf([{ sequence: 'MKV' }, { sequence: '' }])).toEqual([5, 2]);
  });
});

describe('tokenBudgetBatches', () => {
  // Sorted: 5 (index 4), 10 (0), 12 (1), 30 (2), 31 (3). 12 × 3 = 36 fits 64, 30 × 4 = 120 does not,
  // so 30 starts a new batch, and 31 × 2 = 62 fits.
  it('tokenBudgetBatches follows the fair-esm rule on a hand-checked case', () => {
    expect(tokenBudgetBatches(HAND_CHECKED_LENGTHS, 64)).toEqual([
      { indices: [4, 0, 1], sequences: 3, tokens: 27, paddedLength: 12, paddedTokens: 36 },
      { indices: [2, 3], sequences: 2, tokens: 61, paddedLength: 31, paddedTokens: 62 },
    ]);
  });

  it.each([
    ['budget equal to padded size', [8, 8, 8, 8], 32, [[0, 1, 2, 3]]],
    ['budget one short', [8, 8, 8, 8], 31, [[0, 1, 2], [3]]],
    ['ties by input index', [4, 2, 4, 2], 4, [[1, 3], [0], [2]]],
    ['budget of one token', [3, 1, 2], 1, [[1], [2], [0]]],
    ['huge budget', HAND_CHECKED_LENGTHS, 1_000_000, [[4, 0, 1, 2, 3]]],
  ])('tokenBudgetBatches groups indices for %s', (_label, lengths, budget, expected) => {
    expect(tokenBudgetBatches(lengths, budget).map((batch) => batch.indices)).toEqual(expected);
  });

  it('tokenBudgetBatches puts a sequence over the budget in a batch alone', () => {
    const batches = tokenBudgetBatches([10, 100, 12], 64);
    expect(batches.map((batch) => batch.indices)).toEqual([[0, 2], [1]]);
  });

  it('tokenBudgetBatches covers every index exactly once', () => {
    const lengths = tokenCountsOf(synthesizeProteins(DEFAULT_SYNTHETIC_PROTEINS));
    const indices = tokenBudgetBatches(lengths, 4096).flatMap((batch) => batch.indices);
    expect(indices.sort((a, b) => a - b)).toEqual(lengths.map((_, index) => index));
  });

  it('tokenBudgetBatches keeps multi-sequence batches within the budget', () => {
    const lengths = tokenCountsOf(synthesizeProteins(DEFAULT_SYNTHETIC_PROTEINS));
    const batches = tokenBudgetBatches(lengths, 4096).filter((batch) => batch.sequences > 1);
    expect(batches.every((batch) => batch.paddedTokens <= 4096)).toBe(true);
  });
});

describe('selectTokenBudgetBatch', () => {
  it('selectTokenBudgetBatch picks the batch with most padded tokens', () => {
    expect(selectTokenBudgetBatch(HAND_CHECKED_LENGTHS, 64).indices).toEqual([2, 3]);
  });

  it('selectTokenBudgetBatch prefers longer sequences on a padded-token tie', () => {
    // Batches: [0, 1] of 4 × 2 = 8 padded tokens and [2] of 8 × 1 = 8.
    expect(selectTokenBudgetBatch([4, 4, 8], 8).indices).toEqual([2]);
  });

  it('selectTokenBudgetBatch may pick a lone sequence over the budget', () => {
    expect(selectTokenBudgetBatch([10, 100, 12], 64).paddedTokens).toBe(100);
  });

  it('selectTokenBudgetBatch gives more tokens for bigger budgets', () => {
    const lengths = tokenCountsOf(synthesizeProteins(DEFAULT_SYNTHETIC_PROTEINS));
    const tokens = [1024, 2048, 4096, 8192, 16_384, 32_768].map(
      (budget) => selectTokenBudgetBatch(lengths, budget).tokens,
    );
    const increasing = tokens.every((value, index) => index === 0 || value > tokens[index - 1]);
    expect(increasing, `tokens per budget: ${tokens.join(', ')}`).toBe(true);
  });

  it('selectTokenBudgetBatch fills most of the budget on real-shaped input', () => {
    const lengths = tokenCountsOf(synthesizeProteins(DEFAULT_SYNTHETIC_PROTEINS));
    expect(selectTokenBudgetBatch(lengths, 8192).paddedTokens).toBeGreaterThan(0.9 * 8192);
  });
});

describe('selectSequenceBatch', () => {
  it('selectSequenceBatch takes the first sequences in input order', () => {
    expect(selectSequenceBatch(HAND_CHECKED_LENGTHS, 3)).toEqual({
      indices: [0, 1, 2],
      sequences: 3,
      tokens: 52,
      paddedLength: 30,
      paddedTokens: 90,
      repeatedSequences: 0,
    });
  });

  it('selectSequenceBatch cycles through a short input', () => {
    expect(selectSequenceBatch([10, 20], 5).indices).toEqual([0, 1, 0, 1, 0]);
  });

  it('selectSequenceBatch counts repeated sequences', () => {
    expect(selectSequenceBatch([10, 20], 5).repeatedSequences).toBe(3);
  });

  it('selectSequenceBatch counts tokens of repeated rows', () => {
    expect(selectSequenceBatch([10, 20], 5).tokens).toBe(70);
  });
});

describe('batching argument checks', () => {
  it.each([
    ['empty input', () => tokenBudgetBatches([], 64), 'lengthsTokens'],
    ['zero length', () => tokenBudgetBatches([5, 0], 64), 'lengthsTokens'],
    ['fractional length', () => selectSequenceBatch([5, 2.5], 1), 'lengthsTokens'],
    ['budget below 1', () => tokenBudgetBatches([5], 0), 'budgetTokens'],
    ['fractional budget', () => selectTokenBudgetBatch([5], 10.5), 'budgetTokens'],
    ['count below 1', () => selectSequenceBatch([5], 0), 'count'],
    ['empty input for a count', () => selectSequenceBatch([], 4), 'lengthsTokens'],
  ])('batching rejects %s', (_label, call, argument) => {
    expect(call).toThrow(InvalidBatchRequestError);
    expect(call).toThrow(expect.objectContaining({ argument }));
  });

  it('batching names the invalid budget in the message', () => {
    expect(() => tokenBudgetBatches([5], -2)).toThrow('Invalid token budget -2: expected an integer of at least 1.');
  });
});

describe('buildEsmBatchTensors', () => {
  const encoded = ['MKV', 'LA', 'WWWWW'].map(encodeEsm);
  const lengths = encoded.map((ids) => ids.length);
  const batch = selectSequenceBatch(lengths, 2);

  it('buildEsmBatchTensors shapes tensors as rows by padded length', () => {
    expect(buildEsmBatchTensors(encoded, batch).dims).toEqual([2, 5]);
  });

  it('buildEsmBatchTensors pads input ids with the pad id', () => {
    const { inputIds } = buildEsmBatchTensors(encoded, batch);
    expect(Array.from(inputIds, Number)).toEqual([0, 20, 15, 7, 2, 0, 4, 5, 2, ESM_PAD_ID]);
  });

  it('buildEsmBatchTensors masks padding with 0', () => {
    const { attentionMask } = buildEsmBatchTensors(encoded, batch);
    expect(Array.from(attentionMask, Number)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('buildEsmBatchTensors lays rows out in batch order', () => {
    // The token-budget batch sorts rows by length: LA, MKV, WWWWW, whose first residues are ids 4, 20, 22.
    const sorted = selectTokenBudgetBatch(lengths, 100);
    const { inputIds } = buildEsmBatchTensors(encoded, sorted);
    const firstColumnAfterCls = [0, 1, 2].map((row) => Number(inputIds[row * sorted.paddedLength + 1]));
    expect(firstColumnAfterCls).toEqual([4, 20, 22]);
  });

  it('buildEsmBatchTensors rejects an index without an encoded sequence', () => {
    const outOfRange: Batch = { ...batch, indices: [0, 7] };
    expect(() => buildEsmBatchTensors(encoded, outOfRange)).toThrow(InvalidBatchRequestError);
  });

  it('buildEsmBatchTensors rejects a sequence longer than the padded length', () => {
    const tooShort: Batch = { ...batch, paddedLength: 3 };
    expect(() => buildEsmBatchTensors(encoded, tooShort)).toThrow(InvalidBatchRequestError);
  });
});

describe('selectWorstCaseBatch', () => {
  const lengths = [10, 40, 25, 40, 5];

  it('takes the longest sequences for a count', () => {
    const batch = selectWorstCaseBatch(lengths, 'sequences', 3);

    expect(batch.indices).toEqual([1, 3, 2]);
    expect(batch.paddedLength).toBe(40);
    expect(batch.paddedTokens).toBe(120);
  });

  it('repeats the input for a larger count', () => {
    const batch = selectWorstCaseBatch(lengths, 'sequences', 7);

    expect(batch.indices).toEqual([1, 3, 2, 0, 4, 1, 3]);
    expect(batch.sequences).toBe(7);
  });

  it('fills a token budget with the longest', () => {
    const batch = selectWorstCaseBatch(lengths, 'tokens', 100);

    expect(batch.indices).toEqual([1, 3]);
    expect(batch.paddedTokens).toBe(80);
  });

  it('keeps one row under a small budget', () => {
    const batch = selectWorstCaseBatch(lengths, 'tokens', 16);

    expect(batch.indices).toEqual([1]);
    expect(batch.paddedTokens).toBe(40);
  });
});
