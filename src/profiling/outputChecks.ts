/**
 * Checks of model outputs that decide whether a point's timings can be trusted: non-finite values, an
 * output that is all zeros or constant, and whether batching changes a sequence's embedding.
 */

/** Returns a message for the first NaN or infinite value, or null when every value is finite. */
export function findInvalidValue(data: ArrayLike<number>): string | null {
  for (let i = 0; i < data.length; i += 1) {
    if (!Number.isFinite(data[i])) {
      return `The output contains ${data[i]} at flat index ${i} of ${data.length}; the results of this batch size cannot be trusted.`;
    }
  }
  return null;
}

/**
 * Returns a message when every value of the output is the same (all zeros included), which no working
 * encoder produces for real input, or null otherwise. An empty output counts as constant.
 */
export function findConstantOutput(data: ArrayLike<number>): string | null {
  if (data.length === 0) return 'The output is empty; the model returned no values for this batch.';
  const first = data[0];
  for (let i = 1; i < data.length; i += 1) if (data[i] !== first) return null;
  const what = first === 0 ? 'all zeros' : `the constant ${first}`;
  return `The output is ${what} over all ${data.length} values, which no working encoder returns; the model or the backend computed nothing useful at this batch size.`;
}

/**
 * Returns the mean over the first `length` positions of row `row` of a [batch, sequence, hidden] output:
 * the masked mean pooling of an embedding pipeline, since real tokens come before the padding.
 */
export function meanPoolRow(data: ArrayLike<number>, dims: readonly number[], row: number, length: number): Float32Array {
  if (dims.length !== 3) throw new RangeError(`Expected an output of shape [batch, sequence, hidden], got [${dims.join(', ')}].`);
  const [batch, sequence, hidden] = dims;
  if (!Number.isInteger(row) || row < 0 || row >= batch) throw new RangeError(`Invalid row ${row}: the output has ${batch} rows.`);
  if (!Number.isInteger(length) || length < 1 || length > sequence) {
    throw new RangeError(`Invalid length ${length}: expected 1 to ${sequence} positions.`);
  }
  const pooled = new Float32Array(hidden);
  const rowOffset = row * sequence * hidden;
  for (let position = 0; position < length; position += 1) {
    const offset = rowOffset + position * hidden;
    for (let k = 0; k < hidden; k += 1) pooled[k] += data[offset + k];
  }
  for (let k = 0; k < hidden; k += 1) pooled[k] /= length;
  return pooled;
}

export interface BatchFlops {
  /** FLOPs over the real tokens, each sequence at its own length. */
  realFlops: number;
  /** FLOPs over the padded batch: rows × padded length, each token at the padded length. */
  paddedFlops: number;
}

/**
 * Counts the forward FLOPs of a batch with `flopsPerToken(length)`, the model's per-token count at a
 * sequence length (see `forwardFlopsPerToken` in models/counts.ts).
 */
export function batchFlops(lengthsTokens: readonly number[], paddedLength: number, flopsPerToken: (length: number) => number): BatchFlops {
  let realFlops = 0;
  for (const length of lengthsTokens) realFlops += length * flopsPerToken(length);
  const paddedFlops = lengthsTokens.length * paddedLength * flopsPerToken(paddedLength);
  return { realFlops, paddedFlops };
}
