/**
 * Batches for one sweep point, by token budget or by sequence count. Every length here is in tokens,
 * special tokens included (residues + 2 for ESM-2).
 */
import { InvalidBatchRequestError } from './errors';
import { DNABERT_PAD_ID } from './dnaTokenizer';
import { ESM_PAD_ID, ESM_SPECIAL_TOKEN_COUNT } from './protein';

export interface Batch {
  /** Indices into the input, in the order the rows are laid out. */
  indices: number[];
  /** Rows in the batch, equal to indices.length. */
  sequences: number;
  /** Real tokens: the sum of the rows' lengths, padding excluded. */
  tokens: number;
  /** Maximum row length in tokens, which every row is padded to. */
  paddedLength: number;
  /** sequences × paddedLength: the tokens the model computes on. */
  paddedTokens: number;
}

export interface SequenceBatch extends Batch {
  /** Rows that repeat an input sequence because the input has fewer than the requested count. */
  repeatedSequences: number;
}

export interface EsmBatchTensors {
  /** Row-major [sequences, paddedLength] token ids, padded with ESM_PAD_ID. */
  inputIds: BigInt64Array;
  /** 1 for a real token, 0 for padding, same shape as inputIds. */
  attentionMask: BigInt64Array;
  dims: [number, number];
}

/** ESM-2 token count of each record: residues plus `<cls>` and `<eos>`. */
export function tokenCountsOf(records: readonly { sequence: string }[]): number[] {
  return records.map((record) => record.sequence.length + ESM_SPECIAL_TOKEN_COUNT);
}

/**
 * Splits the input into batches by fair-esm's token-budget rule (`FastaBatchedDataset.get_batch_indices`).
 * Sequences are sorted by length ascending, ties by input index. Each one joins the current batch while
 * (longest length in the batch) × (rows) stays within the budget; otherwise it starts a new batch. A
 * sequence longer than the budget therefore forms a batch alone, whose paddedTokens exceed the budget.
 */
export function tokenBudgetBatches(lengthsTokens: readonly number[], budgetTokens: number): Batch[] {
  validateLengths(lengthsTokens);
  validatePositiveInteger('budgetTokens', budgetTokens, 'token budget');

  const order = lengthsTokens.map((_, index) => index);
  order.sort((a, b) => lengthsTokens[a] - lengthsTokens[b] || a - b);

  const batches: Batch[] = [];
  let current: number[] = [];
  let currentMaxTokens = 0;

  for (const index of order) {
    const lengthTokens = lengthsTokens[index];
    const paddedIfAdded = Math.max(currentMaxTokens, lengthTokens) * (current.length + 1);
    if (paddedIfAdded > budgetTokens && current.length > 0) {
      batches.push(describeBatch(current, lengthsTokens));
      current = [];
      currentMaxTokens = 0;
    }
    current.push(index);
    currentMaxTokens = Math.max(currentMaxTokens, lengthTokens);
  }
  if (current.length > 0) batches.push(describeBatch(current, lengthsTokens));

  return batches;
}

/**
 * Picks the batch that the profiler runs for a token budget: among tokenBudgetBatches, the one with the
 * most padded tokens, and on a tie the one with the longest sequences, then the earliest. The probe is
 * thus a full, worst-case batch taken from the real input. When the budget is smaller than some
 * sequence, that sequence alone may be picked, with more padded tokens than the budget.
 */
export function selectTokenBudgetBatch(lengthsTokens: readonly number[], budgetTokens: number): Batch {
  const batches = tokenBudgetBatches(lengthsTokens, budgetTokens);
  let best = batches[0];
  for (const batch of batches.slice(1)) {
    const morePadded = batch.paddedTokens > best.paddedTokens;
    const longerOnTie = batch.paddedTokens === best.paddedTokens && batch.paddedLength > best.paddedLength;
    if (morePadded || longerOnTie) best = batch;
  }
  return best;
}

/**
 * Builds the worst batch that a batch size can meet in this input: the longest sequences together.
 * - A sequence count takes the `count` longest sequences, repeating the input when it has fewer.
 * - A token budget takes the longest sequences while rows × longest length stays within it, and at
 *   least one row.
 * Ties go to the earlier sequence.
 */
export function selectWorstCaseBatch(lengthsTokens: readonly number[], unit: 'sequences' | 'tokens', batchSize: number): Batch {
  validateLengths(lengthsTokens);
  validatePositiveInteger('batchSize', batchSize, unit === 'tokens' ? 'token budget' : 'sequence count');

  const longestFirst = lengthsTokens.map((_, index) => index).sort((a, b) => lengthsTokens[b] - lengthsTokens[a] || a - b);
  let rows: number;
  if (unit === 'sequences') rows = batchSize;
  else rows = Math.max(1, Math.min(longestFirst.length, Math.floor(batchSize / lengthsTokens[longestFirst[0]])));
  const indices = Array.from({ length: rows }, (_, row) => longestFirst[row % longestFirst.length]);
  return describeBatch(indices, lengthsTokens);
}

/**
 * Builds the batch for a sequence count: the first `count` sequences in input order. When the input has
 * fewer, the batch cycles through it again and `repeatedSequences` counts the extra rows.
 */
export function selectSequenceBatch(lengthsTokens: readonly number[], count: number): SequenceBatch {
  validateLengths(lengthsTokens);
  validatePositiveInteger('count', count, 'sequence count');

  const indices = Array.from({ length: count }, (_, row) => row % lengthsTokens.length);
  return {
    ...describeBatch(indices, lengthsTokens),
    repeatedSequences: Math.max(0, count - lengthsTokens.length),
  };
}

/**
 * Builds int64 input tensors for a batch from ESM-2 encoded sequences (see encodeEsm). Row r contains
 * `encoded[batch.indices[r]]` followed by padding. Throws InvalidBatchRequestError when an index has no
 * encoded sequence or a sequence is longer than batch.paddedLength.
 */
export function buildEsmBatchTensors(encoded: readonly Int32Array[], batch: Batch): EsmBatchTensors {
  const rows = batch.indices.length;
  const columns = batch.paddedLength;
  const inputIds = new BigInt64Array(rows * columns).fill(BigInt(ESM_PAD_ID));
  const attentionMask = new BigInt64Array(rows * columns);

  batch.indices.forEach((index, row) => {
    const ids = encoded[index];
    if (ids === undefined) {
      throw new InvalidBatchRequestError(
        'batch.indices',
        index,
        `Batch row ${row} refers to sequence ${index}, but only ${encoded.length} encoded sequences were given.`,
      );
    }
    if (ids.length > columns) {
      throw new InvalidBatchRequestError(
        'batch.paddedLength',
        columns,
        `Sequence ${index} has ${ids.length} tokens, more than the batch's padded length of ${columns}. ` +
          'Build the batch from the token counts of the same encoded sequences.',
      );
    }

    const offset = row * columns;
    for (let column = 0; column < ids.length; column += 1) {
      inputIds[offset + column] = BigInt(ids[column]);
      attentionMask[offset + column] = 1n;
    }
  });

  return { inputIds, attentionMask, dims: [rows, columns] };
}

/** Same layout as EsmBatchTensors, but padded with the DNA model's pad id. */
export type DnaBatchTensors = EsmBatchTensors;

/**
 * Builds int64 input tensors for a batch from DNABERT-S encoded sequences (see DnaTokenizer.encode),
 * padded with `padId`, which defaults to DNABERT_PAD_ID. Layout and errors are those of
 * buildEsmBatchTensors.
 */
export function buildDnaBatchTensors(
  encoded: readonly Int32Array[],
  batch: Batch,
  padId: number = DNABERT_PAD_ID,
): DnaBatchTensors {
  const tensors = buildEsmBatchTensors(encoded, batch);
  const pad = BigInt(padId);
  for (let i = 0; i < tensors.inputIds.length; i += 1) {
    if (tensors.attentionMask[i] === 0n) tensors.inputIds[i] = pad;
  }
  return tensors;
}

function describeBatch(indices: number[], lengthsTokens: readonly number[]): Batch {
  let tokens = 0;
  let paddedLength = 0;
  for (const index of indices) {
    tokens += lengthsTokens[index];
    paddedLength = Math.max(paddedLength, lengthsTokens[index]);
  }
  return { indices, sequences: indices.length, tokens, paddedLength, paddedTokens: paddedLength * indices.length };
}

function validateLengths(lengthsTokens: readonly number[]): void {
  if (lengthsTokens.length === 0) {
    throw new InvalidBatchRequestError(
      'lengthsTokens',
      lengthsTokens,
      'Cannot build a batch from an empty input: expected at least one sequence length.',
    );
  }
  const invalidIndex = lengthsTokens.findIndex((length) => !Number.isInteger(length) || length < 1);
  if (invalidIndex >= 0) {
    throw new InvalidBatchRequestError(
      'lengthsTokens',
      lengthsTokens[invalidIndex],
      `Invalid length ${lengthsTokens[invalidIndex]} tokens at index ${invalidIndex}: ` +
        'expected a positive integer.',
    );
  }
}

function validatePositiveInteger(argument: string, value: number, description: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidBatchRequestError(
      argument,
      value,
      `Invalid ${description} ${value}: expected an integer of at least 1.`,
    );
  }
}
