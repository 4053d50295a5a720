/**
 * ESM-2 protein input: the model's alphabet, the residue check that decides which FASTA records it can
 * take, and the token encoding.
 */
import { InvalidFastaError } from './errors';
import type { FastaRecord } from './fasta';
import { NoticeCollector, formatCount, type InputNotice } from './notices';

/**
 * ESM-2 vocabulary in token-id order, as built by fair-esm's `Alphabet.from_architecture('ESM-1b')`, which
 * the ESM-2 checkpoints use: four special tokens, 27 residue and gap symbols (ids 4 to 30), then
 * `<null_1>` and `<mask>`.
 */
export const ESM_ALPHABET: readonly string[] = Object.freeze([
  '<cls>', '<pad>', '<eos>', '<unk>',
  'L', 'A', 'G', 'V', 'S', 'E', 'R', 'T', 'I', 'D', 'P', 'K', 'Q', 'N', 'F', 'Y', 'M', 'H', 'W', 'C',
  'X', 'B', 'U', 'Z', 'O', '.', '-',
  '<null_1>', '<mask>',
]);

export const ESM_CLS_ID = 0;
export const ESM_PAD_ID = 1;
export const ESM_EOS_ID = 2;

/** Special tokens around every sequence: `<cls>` before and `<eos>` after. */
export const ESM_SPECIAL_TOKEN_COUNT = 2;

/**
 * Maximum residues per sequence. With `<cls>` and `<eos>` that is 1024 tokens, the crop length ESM-2 was
 * trained with. Its rotary position embeddings set no hard limit, but longer inputs are outside training.
 */
export const ESM_MAX_RESIDUES = 1022;

/** Characters that may appear in an input sequence: the alphabet entries for ids 4 to 30. */
export const ESM_RESIDUES: string = ESM_ALPHABET.slice(4, 31).join('');

/** Token id for each ASCII character code, or -1 where the character is not an ESM-2 residue. */
const TOKEN_ID_BY_CHAR_CODE: Int32Array = (() => {
  const table = new Int32Array(128).fill(-1);
  for (let id = 0; id < ESM_ALPHABET.length; id += 1) {
    const token = ESM_ALPHABET[id];
    if (token.length === 1) table[token.charCodeAt(0)] = id;
  }
  return table;
})();

/** Proteins ready for ESM-2, with notices and counts of the records changed or skipped. */
export interface ProteinInput {
  /** Usable records in input order, with the stop codon dropped and long sequences truncated. */
  records: FastaRecord[];
  /** Notices from this step only. The FASTA reader's notices are separate. */
  notices: InputNotice[];
  truncatedCount: number;
  skippedCount: number;
}

export interface PrepareProteinsOptions {
  /** Residues kept per protein, without special tokens. Defaults to ESM_MAX_RESIDUES. */
  maxResidues?: number;
}

/**
 * Checks records against the ESM-2 residues and makes them model-ready.
 *
 * A final '*' (stop codon) is dropped. A record with any other character outside ESM_RESIDUES, including
 * an internal '*', is skipped with a notice that names the first such character and its 1-based position.
 * Sequences longer than `maxResidues` are cut to their first `maxResidues` residues. Records that look
 * like DNA or RNA are kept, with one warning. Throws InvalidFastaError when no record is usable.
 */
export function prepareProteins(records: FastaRecord[], options: PrepareProteinsOptions = {}): ProteinInput {
  const maxResidues = options.maxResidues ?? ESM_MAX_RESIDUES;
  if (!Number.isInteger(maxResidues) || maxResidues < 1) {
    throw new RangeError(`Invalid maxResidues ${maxResidues}: expected an integer of at least 1.`);
  }

  const notices = new NoticeCollector();
  const prepared: FastaRecord[] = [];
  let skippedCount = 0;
  let truncatedCount = 0;
  let longestResidues = 0;
  let nucleotideLikeCount = 0;

  for (const record of records) {
    const sequence = record.sequence.endsWith('*') ? record.sequence.slice(0, -1) : record.sequence;

    if (sequence.length === 0) {
      skippedCount += 1;
      notices.add({
        level: 'warning',
        code: 'empty-protein',
        message:
          record.sequence === '*'
            ? `Record '${record.id}' contains only a stop codon ('*') and is skipped.`
            : `Record '${record.id}' has no sequence and is skipped.`,
        recordId: record.id,
      });
      continue;
    }

    const invalid = findInvalidResidues(sequence);
    if (invalid !== null) {
      skippedCount += 1;
      notices.add(invalidResidueNotice(record.id, invalid));
      continue;
    }

    if (looksLikeNucleotides(sequence)) nucleotideLikeCount += 1;

    if (sequence.length > maxResidues) {
      truncatedCount += 1;
      longestResidues = Math.max(longestResidues, sequence.length);
      prepared.push({ ...record, sequence: sequence.slice(0, maxResidues) });
    } else {
      prepared.push(sequence === record.sequence ? record : { ...record, sequence });
    }
  }

  if (prepared.length === 0) {
    throw new InvalidFastaError(noUsableProteinMessage(records.length));
  }

  if (truncatedCount > 0) {
    notices.add({
      level: 'warning',
      code: 'truncated',
      message:
        `${formatCount(truncatedCount, 'protein')} longer than ${maxResidues} residues ` +
        `(the longest has ${longestResidues}) ${truncatedCount === 1 ? 'was' : 'were'} truncated ` +
        `to the first ${maxResidues} residues.`,
      count: truncatedCount,
    });
  }

  if (nucleotideLikeCount > 0) {
    notices.add({
      level: 'warning',
      code: 'nucleotide-like',
      message:
        `Found ${formatCount(nucleotideLikeCount, 'record')} of at least ${NUCLEOTIDE_CHECK_MIN_RESIDUES} residues ` +
        `whose sequence is ${NUCLEOTIDE_MIN_FRACTION * 100}% or more A, C, G, T, U and N, which suggests DNA or RNA. ` +
        'ESM-2 reads such sequences as protein. Load translated protein sequences, or choose a DNA model.',
      count: nucleotideLikeCount,
    });
  }

  return { records: prepared, notices: notices.toArray(), truncatedCount, skippedCount };
}

/**
 * Encodes a sequence as ESM-2 token ids: `<cls>`, one id per residue, `<eos>`. The sequence must contain
 * only ESM_RESIDUES (prepareProteins guarantees that). Throws RangeError on any other character.
 */
export function encodeEsm(sequence: string): Int32Array {
  const ids = new Int32Array(sequence.length + ESM_SPECIAL_TOKEN_COUNT);
  ids[0] = ESM_CLS_ID;
  for (let i = 0; i < sequence.length; i += 1) {
    const id = tokenIdOf(sequence.charCodeAt(i));
    if (id < 0) {
      throw new RangeError(
        `Cannot encode ${describeChar(sequence[i])} at position ${i + 1}: it is not an ESM-2 residue. ` +
          'Run the sequence through prepareProteins first.',
      );
    }
    ids[i + 1] = id;
  }
  ids[ids.length - 1] = ESM_EOS_ID;
  return ids;
}

/** Shorter sequences are not checked for looking like nucleotides, since a short peptide can be all A, C, G and T. */
const NUCLEOTIDE_CHECK_MIN_RESIDUES = 30;

/**
 * Minimum share of A, C, G, T, U and N for a sequence to look like nucleotides. These letters make up
 * about a quarter of a typical protein, while DNA with IUPAC ambiguity codes (R, Y, K...) stays close to 1.
 */
const NUCLEOTIDE_MIN_FRACTION = 0.9;

function looksLikeNucleotides(sequence: string): boolean {
  if (sequence.length < NUCLEOTIDE_CHECK_MIN_RESIDUES) return false;
  const nucleotides = sequence.match(/[ACGTUN]/g)?.length ?? 0;
  return nucleotides >= NUCLEOTIDE_MIN_FRACTION * sequence.length;
}

interface InvalidResidues {
  char: string;
  /** 1-based position of the first invalid character. */
  position: number;
  count: number;
}

function tokenIdOf(charCode: number): number {
  return charCode < TOKEN_ID_BY_CHAR_CODE.length ? TOKEN_ID_BY_CHAR_CODE[charCode] : -1;
}

function findInvalidResidues(sequence: string): InvalidResidues | null {
  let first: InvalidResidues | null = null;
  for (let i = 0; i < sequence.length; i += 1) {
    if (tokenIdOf(sequence.charCodeAt(i)) >= 0) continue;
    if (first === null) {
      // Take the whole code point, so that a character outside the BMP is shown whole.
      const char = String.fromCodePoint(sequence.codePointAt(i) ?? 0);
      first = { char, position: i + 1, count: 0 };
    }
    first.count += 1;
  }
  return first;
}

function invalidResidueNotice(recordId: string, invalid: InvalidResidues): InputNotice {
  const others = invalid.count > 1 ? ` (and ${invalid.count - 1} more invalid characters)` : '';
  const charDescription = invalid.char === '*' ? "an internal stop codon '*'" : describeChar(invalid.char);
  return {
    level: 'warning',
    code: 'invalid-residue',
    message:
      `Record '${recordId}' has ${charDescription} at position ${invalid.position}${others}, ` +
      'which is not in the ESM-2 alphabet, so the record is skipped. Replace unknown residues with X to keep it.',
    recordId,
    position: invalid.position,
    count: invalid.count,
  };
}

/** Quotes a printable ASCII character and names any other by its code point, such as U+00A0. */
function describeChar(char: string): string {
  const codePoint = char.codePointAt(0) ?? 0;
  if (codePoint >= 0x21 && codePoint <= 0x7e) return `'${char}'`;
  return `character U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

function noUsableProteinMessage(recordCount: number): string {
  if (recordCount === 0) {
    return 'No protein records were given. Load a FASTA file with at least one protein sequence.';
  }
  return (
    `None of the ${formatCount(recordCount, 'record')} can be used as ESM-2 input: each one is empty or contains ` +
    `a character outside the ESM-2 alphabet (${ESM_RESIDUES}). Check that the file contains protein ` +
    'sequences, and replace unknown residues with X.'
  );
}
