/**
 * Turns records read from a file or generated into model-ready input: validated sequences, token ids
 * and the summary that the page shows and the result records. Proteins go to ESM-2; DNA is cut into
 * chunks for DNABERT-S, and those chunks can be translated in six frames for ESM-2.
 */
import type { InputReport, InputSource } from '../report/result';
import type { FastaRecord, InputNotice } from './fasta';
import { encodeEsm, prepareProteins } from './protein';
import { prepareDna } from './dna';
import { chunkDna, type LastChunkPolicy } from './chunking';
import { translateRecords } from './translation';
import type { DnaTokenizer } from './dnaTokenizer';
import { lengthStats } from './stats';

export type Alphabet = 'protein' | 'dna';

export interface InputSummary extends InputReport {
  /** Records that were read but left out, for example for characters outside the model's alphabet. */
  skippedCount: number;
  notices: InputNotice[];
  /** Longest encoded sequence in tokens, special tokens included. */
  longestSequenceTokens: number;
}

/** Model-ready input: sequences, their token ids, and the summary. */
export interface PreparedInput {
  alphabet: Alphabet;
  /** Sequences the model embeds: proteins, or DNA chunks. */
  records: FastaRecord[];
  encoded: Int32Array[];
  lengthsTokens: number[];
  summary: InputSummary;
}

export interface InputOrigin {
  source: InputSource;
  fileName?: string;
  synthetic?: InputReport['synthetic'];
  /** Notices of the FASTA reader, shown before those of the later steps. */
  notices: InputNotice[];
}

export interface DnaPreparation {
  /** Chunk length in bp; null uses each sequence whole. */
  chunkLengthBp: number | null;
  lastChunk?: LastChunkPolicy;
  tokenizer: DnaTokenizer;
  tokenizerSource?: string;
  /** Maximum tokens per sequence, [CLS] and [SEP] included. Longer sequences are truncated. */
  maxTokens: number;
}

/** Validates proteins, truncates them to `maxResidues` and encodes them for ESM-2. */
export function prepareProteinInput(records: FastaRecord[], origin: InputOrigin, maxResidues: number): PreparedInput {
  const proteins = prepareProteins(records, { maxResidues });
  const encoded = proteins.records.map((record) => encodeEsm(record.sequence));
  return {
    alphabet: 'protein',
    records: proteins.records,
    encoded,
    lengthsTokens: encoded.map((ids) => ids.length),
    summary: {
      source: origin.source,
      fileName: origin.fileName,
      synthetic: origin.synthetic,
      alphabet: 'protein',
      sequenceCount: encoded.length,
      lengthStats: lengthStats(proteins.records.map((record) => record.sequence.length)),
      truncatedCount: proteins.truncatedCount,
      skippedCount: proteins.skippedCount,
      notices: [...origin.notices, ...proteins.notices],
      longestSequenceTokens: longestOf(encoded),
    },
  };
}

/**
 * Prepares DNA for DNABERT-S.
 * 1. Validate: IUPAC ambiguity codes become N; records with other characters are skipped.
 * 2. Cut into chunks, unless `chunkLengthBp` is null.
 * 3. Tokenize, truncating at `maxTokens` while keeping [SEP] last.
 */
export function prepareDnaInput(records: FastaRecord[], origin: InputOrigin, preparation: DnaPreparation): PreparedInput {
  // 1. Validation.
  const dna = prepareDna(records);
  const notices = [...origin.notices, ...dna.notices];

  // 2. Chunks.
  let sequences: FastaRecord[] = dna.records;
  const lastChunkPolicy = preparation.chunkLengthBp === null ? 'none (whole sequences)' : (preparation.lastChunk ?? 'overlap');
  if (preparation.chunkLengthBp !== null) {
    const chunked = chunkDna(dna.records, { chunkLength: preparation.chunkLengthBp, lastChunk: preparation.lastChunk });
    sequences = chunked.chunks;
    notices.push(...chunked.notices);
  }

  // 3. Tokens.
  const { tokenizer, maxTokens } = preparation;
  let truncatedCount = 0;
  const encoded = sequences.map((record) => {
    let ids = tokenizer.encode(record.sequence);
    if (ids.length > maxTokens) {
      truncatedCount += 1;
      ids = ids.slice(0, maxTokens);
      ids[maxTokens - 1] = tokenizer.sepId;
    }
    return ids;
  });
  if (truncatedCount > 0) {
    notices.push({
      level: 'warning',
      code: 'dna-truncated',
      message: `${truncatedCount} DNA sequences were longer than ${maxTokens} tokens and were truncated. Cut them into chunks (300 or 500 bp) to embed them whole.`,
      count: truncatedCount,
    });
  }

  return {
    alphabet: 'dna',
    records: sequences,
    encoded,
    lengthsTokens: encoded.map((ids) => ids.length),
    summary: {
      source: origin.source,
      fileName: origin.fileName,
      synthetic: origin.synthetic,
      alphabet: 'dna',
      sequenceCount: sequences.length,
      lengthStats: lengthStats(sequences.map((record) => record.sequence.length)),
      truncatedCount,
      skippedCount: dna.skippedCount,
      notices,
      longestSequenceTokens: longestOf(encoded),
      dna: {
        recordCount: dna.records.length,
        chunkLengthBp: preparation.chunkLengthBp,
        lastChunkPolicy,
        nFraction: dna.nFraction,
        tokenCounts: tokenizer.tokenCounts,
        tokenizerSource: preparation.tokenizerSource,
      },
    },
  };
}

/**
 * Translates the DNA chunks of `dnaInput` in six frames, drops frames with an internal stop codon, and
 * prepares the kept frames as ESM-2 protein input.
 */
export function translateDnaInput(dnaInput: PreparedInput, maxResidues: number): PreparedInput {
  if (dnaInput.alphabet !== 'dna') throw new RangeError('Six-frame translation needs DNA input, but the loaded input is protein.');
  const translated = translateRecords(dnaInput.records);
  const origin: InputOrigin = {
    source: dnaInput.summary.source,
    fileName: dnaInput.summary.fileName,
    synthetic: dnaInput.summary.synthetic,
    notices: translated.notices,
  };
  const proteins = prepareProteinInput(translated.records, origin, maxResidues);
  proteins.summary.translation = {
    chunkCount: dnaInput.records.length,
    framesKept: translated.keptFrameCount,
    framesDropped: translated.droppedFrameCount,
  };
  return proteins;
}

function longestOf(encoded: readonly Int32Array[]): number {
  let longest = 0;
  for (const ids of encoded) longest = Math.max(longest, ids.length);
  return longest;
}

/**
 * Maps ids at or above `vocabSize` into it, in place, keeping the special ids below 5. Only test models with a
 * small vocabulary need this; DNABERT-S's own vocabulary (4096) contains every tokenizer id.
 */
export function foldIntoVocabulary(ids: BigInt64Array, vocabSize: number): void {
  const firstRegularId = 5n;
  const span = BigInt(vocabSize) - firstRegularId;
  if (span <= 0n) return;
  for (let i = 0; i < ids.length; i += 1) {
    if (ids[i] >= BigInt(vocabSize)) ids[i] = firstRegularId + ((ids[i] - firstRegularId) % span);
  }
}
