/**
 * DNABERT-S DNA input: the nucleotide check that decides which FASTA records the model can take, the
 * mapping of IUPAC ambiguity codes to N, and the share of N in the input.
 */
import { InvalidFastaError } from './errors';
import type { FastaRecord } from './fasta';
import { NoticeCollector, formatCount, type InputNotice } from './notices';

/** IUPAC nucleotide codes for two or more possible bases. prepareDna replaces each one with N. */
export const IUPAC_AMBIGUITY_CODES = 'RYSWKMBDHV';

/** Share of N above which prepareDna adds a 'high-n-fraction' warning. */
export const HIGH_N_FRACTION = 0.05;

/** DNA sequences ready for DNABERT-S, with notices and counts of what was changed or skipped. */
export interface DnaInput {
  /** Usable records in input order, upper case, with only A, C, G, T and N. */
  records: FastaRecord[];
  /** Notices from this step only. The FASTA reader's notices are separate. */
  notices: InputNotice[];
  /** Records skipped because they are empty, contain an invalid character or look like protein. */
  skippedCount: number;
  /** Skipped records that look like protein. They are included in skippedCount. */
  proteinLikeCount: number;
  /** Occurrences of each IUPAC ambiguity code that was replaced with N in usable records, by code. */
  ambiguityCounts: Record<string, number>;
  /** Usable records in which U (uracil) was replaced with T. */
  uracilRecordCount: number;
  /** Records given with lower-case letters, which this step converted. The FASTA reader converts its own. */
  lowercaseRecordCount: number;
  /** Bases in the usable records. */
  baseCount: number;
  /** N in the usable records, ambiguity codes replaced with N included. */
  nCount: number;
  /** nCount / baseCount: the share of N in the model input. */
  nFraction: number;
}

/** Kind of each ASCII character code in an upper-case sequence. Codes of 128 and above are invalid. */
const BaseKind = { Invalid: 0, Base: 1, N: 2, Ambiguity: 3, Uracil: 4 } as const;

const BASE_KIND_BY_CHAR_CODE: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (const base of 'ACGT') table[base.charCodeAt(0)] = BaseKind.Base;
  table['N'.charCodeAt(0)] = BaseKind.N;
  for (const code of IUPAC_AMBIGUITY_CODES) table[code.charCodeAt(0)] = BaseKind.Ambiguity;
  table['U'.charCodeAt(0)] = BaseKind.Uracil;
  return table;
})();

/**
 * Shorter sequences are not checked for looking like protein, because a short DNA record may be mostly
 * ambiguity codes.
 */
const PROTEIN_CHECK_MIN_LENGTH = 30;

/**
 * Minimum share of A, C, G, T, U and N for a sequence to count as DNA. These letters make up about a
 * quarter of a typical protein, and close to all of a DNA sequence.
 */
const NUCLEOTIDE_MIN_FRACTION = 0.5;

/**
 * Checks records against the nucleotide alphabet and makes them ready for DNABERT-S.
 *
 * A, C, G, T and N are kept. Lower case is converted to upper case, with one notice for all records
 * (records from readFasta are already upper case and get no second notice). The IUPAC ambiguity codes
 * R, Y, S, W, K, M, B, D, H and V are replaced with N, with one notice that counts each code. U (uracil)
 * is replaced with T, so RNA input reads as DNA. A record is skipped with a notice when it is empty or
 * looks like protein (at least 30 characters, of which under half are A, C, G, T, U or N). A record with
 * any other character is skipped too, and its notice names the first such character and its 1-based
 * position. Throws InvalidFastaError when no record is usable, suggesting the protein models when the
 * records look like protein.
 */
export function prepareDna(records: FastaRecord[]): DnaInput {
  const notices = new NoticeCollector();
  const prepared: FastaRecord[] = [];
  const ambiguityCounts: Record<string, number> = {};
  let ambiguityRecordCount = 0;
  let skippedCount = 0;
  let proteinLikeCount = 0;
  let uracilRecordCount = 0;
  let lowercaseRecordCount = 0;
  let baseCount = 0;
  let nCount = 0;

  for (const record of records) {
    if (record.sequence.length === 0) {
      skippedCount += 1;
      notices.add({
        level: 'warning',
        code: 'empty-sequence',
        message: `Record '${record.id}' has no sequence and is skipped.`,
        recordId: record.id,
      });
      continue;
    }

    const hasLowercase = /[a-z]/.test(record.sequence);
    const sequence = hasLowercase ? record.sequence.toUpperCase() : record.sequence;
    if (hasLowercase) lowercaseRecordCount += 1;

    const scan = scanBases(sequence);

    if (looksLikeProtein(sequence, scan)) {
      skippedCount += 1;
      proteinLikeCount += 1;
      notices.add(proteinLikeNotice(record.id, sequence, scan));
      continue;
    }

    if (scan.invalid !== null) {
      skippedCount += 1;
      notices.add(invalidBaseNotice(record.id, scan.invalid));
      continue;
    }

    for (const [code, count] of scan.ambiguityCounts) {
      ambiguityCounts[code] = (ambiguityCounts[code] ?? 0) + count;
    }
    if (scan.ambiguityCounts.size > 0) ambiguityRecordCount += 1;
    if (scan.uracilCount > 0) uracilRecordCount += 1;
    baseCount += sequence.length;
    nCount += scan.nCount + scan.ambiguityTotal;

    const converted = replaceNonDnaBases(sequence, scan);
    prepared.push(converted === record.sequence ? record : { ...record, sequence: converted });
  }

  if (prepared.length === 0) {
    throw new InvalidFastaError(noUsableDnaMessage(records.length, proteinLikeCount));
  }

  if (lowercaseRecordCount > 0) {
    notices.add({
      level: 'info',
      code: 'lowercase-converted',
      message:
        `${formatCount(lowercaseRecordCount, 'record')} contained lower-case letters, ` +
        'which were converted to upper case.',
      count: lowercaseRecordCount,
    });
  }

  if (ambiguityRecordCount > 0) notices.add(ambiguityNotice(ambiguityCounts, ambiguityRecordCount));

  if (uracilRecordCount > 0) {
    notices.add({
      level: 'info',
      code: 'uracil-converted',
      message:
        `${formatCount(uracilRecordCount, 'record')} contained U (uracil), which was replaced with T, ` +
        'because DNABERT-S reads DNA.',
      count: uracilRecordCount,
    });
  }

  const nFraction = nCount / baseCount;
  if (nFraction > HIGH_N_FRACTION) {
    notices.add({
      level: 'warning',
      code: 'high-n-fraction',
      message:
        `${formatPercent(nFraction)} of the ${baseCount} bases are N (ambiguity codes included), more than ` +
        `${formatPercent(HIGH_N_FRACTION)}. N carries no sequence information, so embeddings of N-rich ` +
        'regions say little about the sequence.',
      count: nCount,
    });
  }

  return {
    records: prepared,
    notices: notices.toArray(),
    skippedCount,
    proteinLikeCount,
    ambiguityCounts,
    uracilRecordCount,
    lowercaseRecordCount,
    baseCount,
    nCount,
    nFraction,
  };
}

interface InvalidBases {
  char: string;
  /** 1-based position of the first invalid character. */
  position: number;
  count: number;
}

interface BaseScan {
  /** A, C, G, T, U and N, for the protein check. */
  nucleotideCount: number;
  nCount: number;
  uracilCount: number;
  ambiguityCounts: Map<string, number>;
  ambiguityTotal: number;
  invalid: InvalidBases | null;
}

function scanBases(sequence: string): BaseScan {
  const scan: BaseScan = {
    nucleotideCount: 0,
    nCount: 0,
    uracilCount: 0,
    ambiguityCounts: new Map(),
    ambiguityTotal: 0,
    invalid: null,
  };

  for (let i = 0; i < sequence.length; i += 1) {
    const charCode = sequence.charCodeAt(i);
    const kind = charCode < BASE_KIND_BY_CHAR_CODE.length ? BASE_KIND_BY_CHAR_CODE[charCode] : BaseKind.Invalid;

    switch (kind) {
      case BaseKind.Base:
        scan.nucleotideCount += 1;
        break;
      case BaseKind.N:
        scan.nucleotideCount += 1;
        scan.nCount += 1;
        break;
      case BaseKind.Uracil:
        scan.nucleotideCount += 1;
        scan.uracilCount += 1;
        break;
      case BaseKind.Ambiguity: {
        const code = sequence[i];
        scan.ambiguityCounts.set(code, (scan.ambiguityCounts.get(code) ?? 0) + 1);
        scan.ambiguityTotal += 1;
        break;
      }
      default:
        if (scan.invalid === null) {
          // Take the whole code point, so that a character outside the BMP is shown whole.
          const char = String.fromCodePoint(sequence.codePointAt(i) ?? 0);
          scan.invalid = { char, position: i + 1, count: 0 };
        }
        scan.invalid.count += 1;
    }
  }
  return scan;
}

function looksLikeProtein(sequence: string, scan: BaseScan): boolean {
  if (sequence.length < PROTEIN_CHECK_MIN_LENGTH) return false;
  return scan.nucleotideCount < NUCLEOTIDE_MIN_FRACTION * sequence.length;
}

function replaceNonDnaBases(sequence: string, scan: BaseScan): string {
  let converted = sequence;
  if (scan.ambiguityTotal > 0) converted = converted.replace(/[RYSWKMBDHV]/g, 'N');
  if (scan.uracilCount > 0) converted = converted.replace(/U/g, 'T');
  return converted;
}

function proteinLikeNotice(recordId: string, sequence: string, scan: BaseScan): InputNotice {
  return {
    level: 'warning',
    code: 'protein-like',
    message:
      `Record '${recordId}' looks like protein: only ${formatPercent(scan.nucleotideCount / sequence.length)} ` +
      'of its characters are A, C, G, T, U or N, so it is skipped. Load protein sequences with an ESM-2 model.',
    recordId,
  };
}

function invalidBaseNotice(recordId: string, invalid: InvalidBases): InputNotice {
  const others = invalid.count > 1 ? ` (and ${invalid.count - 1} more invalid characters)` : '';
  const isGap = invalid.char === '-' || invalid.char === '.';
  const advice = isGap
    ? 'Remove alignment gaps to keep it.'
    : 'Replace unknown bases with N to keep it.';
  return {
    level: 'warning',
    code: 'invalid-base',
    message:
      `Record '${recordId}' has ${describeChar(invalid.char)} at position ${invalid.position}${others}, ` +
      `which is not an IUPAC nucleotide code, so the record is skipped. ${advice}`,
    recordId,
    position: invalid.position,
    count: invalid.count,
  };
}

function ambiguityNotice(ambiguityCounts: Record<string, number>, recordCount: number): InputNotice {
  const codes = [...IUPAC_AMBIGUITY_CODES].filter((code) => (ambiguityCounts[code] ?? 0) > 0);
  const total = codes.reduce((sum, code) => sum + ambiguityCounts[code], 0);
  const perCode = codes.map((code) => `${code} ${ambiguityCounts[code]}`).join(', ');
  return {
    level: 'info',
    code: 'ambiguity-replaced',
    message:
      `Replaced ${formatCount(total, 'IUPAC ambiguity code')} with N in ${formatCount(recordCount, 'record')}: ` +
      `${perCode}.`,
    count: total,
  };
}

/** Quotes a printable ASCII character and names any other by its code point, such as U+00A0. */
function describeChar(char: string): string {
  const codePoint = char.codePointAt(0) ?? 0;
  if (codePoint >= 0x21 && codePoint <= 0x7e) return `'${char}'`;
  return `character U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Formats a share as a percentage with one decimal, such as "5.2%". */
function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function noUsableDnaMessage(recordCount: number, proteinLikeCount: number): string {
  if (recordCount === 0) {
    return 'No DNA records were given. Load a FASTA file with at least one DNA sequence.';
  }
  if (proteinLikeCount > 0) {
    return (
      `None of the ${formatCount(recordCount, 'record')} can be used as DNABERT-S input, and ` +
      `${proteinLikeCount === recordCount ? 'all' : proteinLikeCount} of them look like protein. ` +
      'Choose an ESM-2 model for protein sequences, or load a DNA FASTA file.'
    );
  }
  return (
    `None of the ${formatCount(recordCount, 'record')} can be used as DNABERT-S input: each one is empty or ` +
    'contains a character that is not an IUPAC nucleotide code (A, C, G, T, U, N, R, Y, S, W, K, M, B, D, H, V). ' +
    'Remove alignment gaps, and replace unknown bases with N.'
  );
}
