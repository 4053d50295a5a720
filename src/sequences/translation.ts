/**
 * Six-frame translation with the standard genetic code, which turns DNA chunks into the proteins that
 * pipelines such as VirNucPro embed with ESM-2.
 */
import { InvalidFastaError } from './errors';
import type { FastaRecord } from './fasta';
import { NoticeCollector, formatCount, type InputNotice } from './notices';

/**
 * Reading frames. '+1', '+2' and '+3' start at bases 1, 2 and 3 of the sequence. '-1', '-2' and '-3'
 * start at bases 1, 2 and 3 of its reverse complement, so '-1' starts at the last base of the sequence.
 */
export type FrameLabel = '+1' | '+2' | '+3' | '-1' | '-2' | '-3';

export const FRAME_LABELS: readonly FrameLabel[] = Object.freeze(['+1', '+2', '+3', '-1', '-2', '-3']);

/**
 * Handling of a stop codon at the end of a frame: 'trim' removes it and keeps the frame, 'drop' drops the
 * frame. VirNucPro drops every frame that contains a stop codon, as 'drop' does, but it leaves out a
 * codon with N or another ambiguity code where this module writes X.
 */
export type TerminalStopPolicy = 'trim' | 'drop';

export interface TranslationOptions {
  /** Defaults to 'trim'. */
  terminalStop?: TerminalStopPolicy;
}

export interface TranslatedFrame {
  frame: FrameLabel;
  /** Amino acids in one-letter code, with X for a codon that contains N or another ambiguity code. */
  protein: string;
}

/**
 * Reason a frame was dropped: a stop codon before its last codon, a terminal stop under
 * terminalStop 'drop', or no amino acid left (no complete codon, or only a stop codon).
 */
export type DroppedFrameReason = 'internal-stop' | 'terminal-stop' | 'empty';

export interface SixFrameTranslation {
  /** Kept frames in FRAME_LABELS order. */
  frames: TranslatedFrame[];
  dropped: { frame: FrameLabel; reason: DroppedFrameReason }[];
  droppedFrameCount: number;
}

export interface TranslatedRecords {
  /** One protein record per kept frame, with ID `<record id>_frame<label>`, such as `seq1_frame-2`. */
  records: FastaRecord[];
  notices: InputNotice[];
  keptFrameCount: number;
  droppedFrameCount: number;
  /** Dropped frames by reason. */
  droppedByReason: Record<DroppedFrameReason, number>;
  /** Input records of which no frame was kept. */
  recordsWithoutFrameCount: number;
}

/**
 * NCBI genetic code table 1 (the standard code) in NCBI's own layout: the amino acid of codon
 * b1 b2 b3 is at index 16 × i(b1) + 4 × i(b2) + i(b3), where i(T) = 0, i(C) = 1, i(A) = 2 and i(G) = 3.
 */
const STANDARD_CODE_AMINO_ACIDS = 'FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG';

/** Codon-table index of each base (U reads as T), or -1 for N and the other ambiguity codes. */
const CODON_INDEX_BY_BASE: Readonly<Record<string, number>> = { T: 0, U: 0, C: 1, A: 2, G: 3 };

/** Complement of each IUPAC nucleotide code. U pairs with A, and the complement of A is T. */
const COMPLEMENT: Readonly<Record<string, string>> = {
  A: 'T', C: 'G', G: 'C', T: 'A', U: 'A', N: 'N',
  R: 'Y', Y: 'R', S: 'S', W: 'W', K: 'M', M: 'K', B: 'V', V: 'B', D: 'H', H: 'D',
};

/**
 * Returns the reverse complement of a nucleotide sequence, upper case. IUPAC ambiguity codes are
 * complemented (R to Y, B to V and so on). Throws RangeError on a character that is not an IUPAC
 * nucleotide code, naming its 1-based position.
 */
export function reverseComplement(sequence: string): string {
  const upper = sequence.toUpperCase();
  const complemented = new Array<string>(upper.length);
  for (let i = 0; i < upper.length; i += 1) {
    const base = COMPLEMENT[upper[i]];
    if (base === undefined) throw invalidBaseError(sequence, i);
    complemented[upper.length - 1 - i] = base;
  }
  return complemented.join('');
}

/**
 * Translates one strand from 0-based `offset` (0, 1 or 2), codon by codon. A trailing incomplete codon is
 * dropped, stop codons become '*', and a codon with any base other than A, C, G, T or U becomes 'X'.
 * Throws RangeError on a character that is not an IUPAC nucleotide code.
 */
export function translateFrame(sequence: string, offset: 0 | 1 | 2): string {
  const upper = sequence.toUpperCase();
  const codonCount = Math.max(0, Math.floor((upper.length - offset) / 3));
  const aminoAcids = new Array<string>(codonCount);

  for (let codon = 0; codon < codonCount; codon += 1) {
    const at = offset + 3 * codon;
    let tableIndex = 0;
    let ambiguous = false;
    for (let k = 0; k < 3; k += 1) {
      const base = upper[at + k];
      if (COMPLEMENT[base] === undefined) throw invalidBaseError(sequence, at + k);
      const baseIndex = CODON_INDEX_BY_BASE[base] ?? -1;
      if (baseIndex < 0) ambiguous = true;
      tableIndex = 4 * tableIndex + baseIndex;
    }
    // NOTE: a codon such as GCN codes for alanine whatever N is, but every ambiguous codon becomes X here.
    aminoAcids[codon] = ambiguous ? 'X' : STANDARD_CODE_AMINO_ACIDS[tableIndex];
  }
  // Characters past the last complete codon are never read above, so check them here.
  for (let i = offset + 3 * codonCount; i < upper.length; i += 1) {
    if (COMPLEMENT[upper[i]] === undefined) throw invalidBaseError(sequence, i);
  }
  return aminoAcids.join('');
}

/**
 * Translates all six frames (see FrameLabel) with the standard genetic code. A frame with a stop codon
 * before its last codon is dropped. A stop codon at the end is trimmed, or drops the frame under
 * terminalStop 'drop'. A frame left with no amino acid is dropped. Lower case is accepted. Throws
 * RangeError on a character that is not an IUPAC nucleotide code.
 */
export function translateSixFrames(sequence: string, options: TranslationOptions = {}): SixFrameTranslation {
  const terminalStop = options.terminalStop ?? 'trim';
  if (terminalStop !== 'trim' && terminalStop !== 'drop') {
    throw new RangeError(`Invalid terminalStop '${String(terminalStop)}': expected 'trim' or 'drop'.`);
  }

  const reverse = reverseComplement(sequence);
  const strands: [string, FrameLabel[]][] = [
    [sequence, ['+1', '+2', '+3']],
    [reverse, ['-1', '-2', '-3']],
  ];
  const result: SixFrameTranslation = { frames: [], dropped: [], droppedFrameCount: 0 };

  for (const [strand, labels] of strands) {
    labels.forEach((frame, offset) => {
      const raw = translateFrame(strand, offset as 0 | 1 | 2);
      const stopAt = raw.indexOf('*');
      let reason: DroppedFrameReason | null = null;
      let protein = raw;

      if (stopAt >= 0 && stopAt < raw.length - 1) reason = 'internal-stop';
      else if (stopAt >= 0 && terminalStop === 'drop') reason = 'terminal-stop';
      else if (stopAt >= 0) protein = raw.slice(0, -1);
      if (reason === null && protein.length === 0) reason = 'empty';

      if (reason === null) {
        result.frames.push({ frame, protein });
      } else {
        result.dropped.push({ frame, reason });
      }
    });
  }
  result.droppedFrameCount = result.dropped.length;
  return result;
}

/**
 * Translates each record in six frames (see translateSixFrames) and returns one protein record per kept
 * frame, with one notice that counts kept and dropped frames. Throws InvalidFastaError when no frame is
 * kept, and RangeError on a character that is not an IUPAC nucleotide code.
 */
export function translateRecords(records: readonly FastaRecord[], options: TranslationOptions = {}): TranslatedRecords {
  const proteins: FastaRecord[] = [];
  const droppedByReason: Record<DroppedFrameReason, number> = { 'internal-stop': 0, 'terminal-stop': 0, empty: 0 };
  let recordsWithoutFrameCount = 0;

  for (const record of records) {
    const translation = translateSixFrames(record.sequence, options);
    for (const { reason } of translation.dropped) droppedByReason[reason] += 1;
    if (translation.frames.length === 0) recordsWithoutFrameCount += 1;

    for (const { frame, protein } of translation.frames) {
      const id = `${record.id}_frame${frame}`;
      proteins.push({ id, header: `${id} frame ${frame} of ${record.id}`, sequence: protein });
    }
  }

  const droppedFrameCount =
    droppedByReason['internal-stop'] + droppedByReason['terminal-stop'] + droppedByReason.empty;
  if (proteins.length === 0) {
    throw new InvalidFastaError(
      `None of the ${formatCount(records.length * 6, 'frame')} of ${formatCount(records.length, 'record')} ` +
        'gave a protein for ESM-2: each frame was dropped for a stop codon or for having no complete codon. ' +
        'Check that the input is coding DNA.',
    );
  }

  const notices = new NoticeCollector();
  notices.add({
    level: 'info',
    code: 'six-frame-translation',
    message:
      `Six-frame translation of ${formatCount(records.length, 'record')} ` +
      `kept ${formatCount(proteins.length, 'frame')} ` +
      `and dropped ${droppedFrameCount}: ${droppedByReason['internal-stop']} with an internal stop codon, ` +
      `${droppedByReason['terminal-stop']} with a terminal stop codon and ${droppedByReason.empty} with no amino acid` +
      (recordsWithoutFrameCount > 0 ? `. ${formatCount(recordsWithoutFrameCount, 'record')} kept no frame.` : '.'),
    count: proteins.length,
  });

  return {
    records: proteins,
    notices: notices.toArray(),
    keptFrameCount: proteins.length,
    droppedFrameCount,
    droppedByReason,
    recordsWithoutFrameCount,
  };
}

function invalidBaseError(sequence: string, index: number): RangeError {
  const char = String.fromCodePoint(sequence.codePointAt(index) ?? 0);
  return new RangeError(
    `Cannot translate '${char}' at position ${index + 1}: it is not an IUPAC nucleotide code. ` +
      'Run the sequence through prepareDna first.',
  );
}
