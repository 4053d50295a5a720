import { describe, expect, it } from 'vitest';
import {
  buildDnaBatchTensors,
  buildEsmBatchTensors,
  selectSequenceBatch,
  selectTokenBudgetBatch,
} from '../../src/sequences/batching';
import { chunkDna } from '../../src/sequences/chunking';
import { prepareDna } from '../../src/sequences/dna';
import { DNABERT_PAD_ID, countDnaTokens, createEstimatedDnaTokenizer } from '../../src/sequences/dnaTokenizer';
import { InvalidBatchRequestError } from '../../src/sequences/errors';
import { synthesizeDna } from '../../src/sequences/syntheticDna';

const encoded = [Int32Array.from([1, 10, 11, 2]), Int32Array.from([1, 12, 2]), Int32Array.from([1, 2])];
const batch = selectSequenceBatch([4, 3, 2], 3);

describe('buildDnaBatchTensors', () => {
  it('buildDnaBatchTensors pads with the DNABERT pad id', () => {
    const tensors = buildDnaBatchTensors(encoded, batch);
    expect(Array.from(tensors.inputIds, Number)).toEqual([1, 10, 11, 2, 1, 12, 2, 3, 1, 2, 3, 3]);
  });

  it('buildDnaBatchTensors masks the padding', () => {
    const tensors = buildDnaBatchTensors(encoded, batch);
    expect(Array.from(tensors.attentionMask, Number)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0]);
  });

  it('buildDnaBatchTensors gives batch by padded length dims', () => {
    expect(buildDnaBatchTensors(encoded, batch).dims).toEqual([3, 4]);
  });

  it('buildDnaBatchTensors pads with a given id', () => {
    const tensors = buildDnaBatchTensors(encoded, batch, 0);
    expect(Array.from(tensors.inputIds, Number).slice(8)).toEqual([1, 2, 0, 0]);
  });

  it('buildDnaBatchTensors keeps a real token equal to the ESM pad id', () => {
    // Token id 1 is [CLS] for DNABERT-S and <pad> for ESM-2: only masked positions are re-padded.
    const tensors = buildDnaBatchTensors(encoded, batch);
    expect(Number(tensors.inputIds[4])).toBe(1);
  });

  it('buildDnaBatchTensors leaves ESM padding unchanged', () => {
    const tensors = buildEsmBatchTensors(encoded, batch);
    expect(Array.from(tensors.inputIds, Number).slice(8)).toEqual([1, 2, 1, 1]);
  });

  it('buildDnaBatchTensors rejects a batch too short for a row', () => {
    const short = { ...batch, paddedLength: 3, paddedTokens: 9 };
    expect(() => buildDnaBatchTensors(encoded, short)).toThrow(InvalidBatchRequestError);
  });

  it('DNABERT_PAD_ID is 3', () => {
    expect(DNABERT_PAD_ID).toBe(3);
  });
});

describe('DNA token-budget batches', () => {
  const tokenizer = createEstimatedDnaTokenizer();
  const records = prepareDna(synthesizeDna({ seed: 1, count: 20, minLength: 400, maxLength: 1800, gcContent: 0.45 }));
  const chunks = chunkDna(records.records, { chunkLength: 500 }).chunks;
  const lengths = countDnaTokens(chunks, tokenizer);

  it('DNA chunks of 500 bp have 102 estimated tokens', () => {
    const fullChunks = chunks.filter((chunk) => chunk.sequence.length === 500);
    expect(new Set(countDnaTokens(fullChunks, tokenizer))).toEqual(new Set([102]));
  });

  it('DNA token budget batch stays within budget', () => {
    const picked = selectTokenBudgetBatch(lengths, 1024);
    expect(picked.paddedTokens).toBeLessThanOrEqual(1024);
  });

  it('DNA token budget batch encodes to its padded shape', () => {
    const picked = selectTokenBudgetBatch(lengths, 1024);
    const tensors = buildDnaBatchTensors(chunks.map((chunk) => tokenizer.encode(chunk.sequence)), picked);
    expect(tensors.dims).toEqual([picked.sequences, picked.paddedLength]);
  });
});
