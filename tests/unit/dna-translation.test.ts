import { describe, expect, it } from 'vitest';
import { InvalidFastaError } from '../../src/sequences/errors';
import type { FastaRecord } from '../../src/sequences/fasta';
import { prepareProteins } from '../../src/sequences/protein';
import {
  FRAME_LABELS,
  reverseComplement,
  translateFrame,
  translateRecords,
  translateSixFrames,
} from '../../src/sequences/translation';

function record(id: string, sequence: string): FastaRecord {
  return { id, header: `${id} test chunk`, sequence };
}

/** The standard genetic code written out by amino acid, apart from the module's own table layout. */
const CODONS_BY_AMINO_ACID: Record<string, string[]> = {
  F: ['TTT', 'TTC'],
  L: ['TTA', 'TTG', 'CTT', 'CTC', 'CTA', 'CTG'],
  I: ['ATT', 'ATC', 'ATA'],
  M: ['ATG'],
  V: ['GTT', 'GTC', 'GTA', 'GTG'],
  S: ['TCT', 'TCC', 'TCA', 'TCG', 'AGT', 'AGC'],
  P: ['CCT', 'CCC', 'CCA', 'CCG'],
  T: ['ACT', 'ACC', 'ACA', 'ACG'],
  A: ['GCT', 'GCC', 'GCA', 'GCG'],
  Y: ['TAT', 'TAC'],
  '*': ['TAA', 'TAG', 'TGA'],
  H: ['CAT', 'CAC'],
  Q: ['CAA', 'CAG'],
  N: ['AAT', 'AAC'],
  K: ['AAA', 'AAG'],
  D: ['GAT', 'GAC'],
  E: ['GAA', 'GAG'],
  C: ['TGT', 'TGC'],
  W: ['TGG'],
  R: ['CGT', 'CGC', 'CGA', 'CGG', 'AGA', 'AGG'],
  G: ['GGT', 'GGC', 'GGA', 'GGG'],
};

describe('reverseComplement', () => {
  it('reverseComplement reverses and complements', () => {
    expect(reverseComplement('ATGGCCTAA')).toBe('TTAGGCCAT');
  });

  it('reverseComplement complements ambiguity codes', () => {
    expect(reverseComplement('ACGTRYKMBDHVN')).toBe('NBDHVKMRYACGT');
  });

  it('reverseComplement keeps S and W', () => {
    expect(reverseComplement('SW')).toBe('WS');
  });

  it('reverseComplement pairs U with A', () => {
    expect(reverseComplement('AUG')).toBe('CAT');
  });

  it('reverseComplement upper-cases lower case', () => {
    expect(reverseComplement('atgc')).toBe('GCAT');
  });

  it('reverseComplement rejects a gap with its position', () => {
    expect(() => reverseComplement('ACG-T')).toThrow("Cannot translate '-' at position 4");
  });
});

describe('translateFrame', () => {
  it('translateFrame covers all 64 codons of table 1', () => {
    const codonCount = Object.values(CODONS_BY_AMINO_ACID).flat().length;
    expect(codonCount).toBe(64);
    for (const [aminoAcid, codons] of Object.entries(CODONS_BY_AMINO_ACID)) {
      for (const codon of codons) expect(translateFrame(codon, 0), codon).toBe(aminoAcid);
    }
  });

  it('translateFrame reads from the offset', () => {
    expect(translateFrame('ATGGCCTAA', 1)).toBe('WP');
  });

  it('translateFrame drops a trailing incomplete codon', () => {
    expect(translateFrame('ATGGC', 0)).toBe('M');
  });

  it('translateFrame returns nothing without a complete codon', () => {
    expect(translateFrame('AT', 0)).toBe('');
  });

  it('translateFrame turns a codon with N into X', () => {
    expect(translateFrame('ATGNCCAAA', 0)).toBe('MXK');
  });

  it('translateFrame turns a codon with an ambiguity code into X', () => {
    // GCR is alanine whichever base R is, but the translation does not resolve ambiguity.
    expect(translateFrame('GCRTTT', 0)).toBe('XF');
  });

  it('translateFrame never reads an ambiguous codon as stop', () => {
    expect(translateFrame('TRA', 0)).toBe('X');
  });

  it('translateFrame reads U as T', () => {
    expect(translateFrame('AUGUAA', 0)).toBe('M*');
  });

  it('translateFrame checks bases past the last codon', () => {
    expect(() => translateFrame('ATGA-', 0)).toThrow("'-' at position 5");
  });
});

describe('translateSixFrames', () => {
  // ATGGCCTAA, reverse complement TTAGGCCAT:
  // +1 ATG GCC TAA = M A *   +2 TGG CCT = W P   +3 GGC CTA = G L
  // -1 TTA GGC CAT = L G H   -2 TAG GCC = * A   -3 AGG CCA = R P
  const sequence = 'ATGGCCTAA';

  it('translateSixFrames keeps frames without internal stops', () => {
    expect(translateSixFrames(sequence).frames).toEqual([
      { frame: '+1', protein: 'MA' },
      { frame: '+2', protein: 'WP' },
      { frame: '+3', protein: 'GL' },
      { frame: '-1', protein: 'LGH' },
      { frame: '-3', protein: 'RP' },
    ]);
  });

  it('translateSixFrames drops a frame with an internal stop', () => {
    expect(translateSixFrames(sequence).dropped).toEqual([{ frame: '-2', reason: 'internal-stop' }]);
  });

  it('translateSixFrames counts dropped frames', () => {
    expect(translateSixFrames(sequence).droppedFrameCount).toBe(1);
  });

  it('translateSixFrames drops a terminal stop frame when asked', () => {
    const result = translateSixFrames(sequence, { terminalStop: 'drop' });
    expect(result.dropped).toEqual([
      { frame: '+1', reason: 'terminal-stop' },
      { frame: '-2', reason: 'internal-stop' },
    ]);
  });

  it('translateSixFrames accepts lower case', () => {
    expect(translateSixFrames('atggcctaa')).toEqual(translateSixFrames(sequence));
  });

  it('translateSixFrames drops frames with no amino acid', () => {
    // ATGA, reverse complement TCAT: +1 ATG = M, +2 TGA = * (nothing left), +3 GA (no codon),
    // -1 TCA = S, -2 CAT = H, -3 AT (no codon).
    const result = translateSixFrames('ATGA');
    expect(result.frames).toEqual([
      { frame: '+1', protein: 'M' },
      { frame: '-1', protein: 'S' },
      { frame: '-2', protein: 'H' },
    ]);
    expect(result.dropped).toEqual([
      { frame: '+2', reason: 'empty' },
      { frame: '+3', reason: 'empty' },
      { frame: '-3', reason: 'empty' },
    ]);
  });

  it('translateSixFrames translates reverse frames', () => {
    // The reverse complement of CTTTTACAT is ATGTAAAAG, whose frame 1 is ATG TAA AAG = M * K, an internal stop.
    // Frame -2 reads TGT AAA = C K, frame -3 GTA AAA = V K.
    const result = translateSixFrames('CTTTTACAT');
    expect(result.frames.filter((frame) => frame.frame.startsWith('-'))).toEqual([
      { frame: '-2', protein: 'CK' },
      { frame: '-3', protein: 'VK' },
    ]);
  });

  it('translateSixFrames translates forward frames', () => {
    // CTTTTACAT: +1 CTT TTA CAT = L L H, +2 TTT TAC = F Y, +3 TTT ACA = F T.
    const result = translateSixFrames('CTTTTACAT');
    expect(result.frames.filter((frame) => frame.frame.startsWith('+'))).toEqual([
      { frame: '+1', protein: 'LLH' },
      { frame: '+2', protein: 'FY' },
      { frame: '+3', protein: 'FT' },
    ]);
  });

  it('translateSixFrames puts X for N in both strands', () => {
    // ATGNNNTGG, reverse complement CCANNNCAT: +1 M X W, -1 P X H.
    const frames = translateSixFrames('ATGNNNTGG').frames;
    expect(frames.find((frame) => frame.frame === '+1')?.protein).toBe('MXW');
    expect(frames.find((frame) => frame.frame === '-1')?.protein).toBe('PXH');
  });

  it('translateSixFrames rejects an unknown terminalStop', () => {
    expect(() => translateSixFrames('ATG', { terminalStop: 'keep' as 'trim' })).toThrow(
      "Invalid terminalStop 'keep': expected 'trim' or 'drop'.",
    );
  });

  it('translateSixFrames rejects a character that is not a base', () => {
    expect(() => translateSixFrames('ATGXCC')).toThrow(RangeError);
  });

  it('FRAME_LABELS lists forward then reverse frames', () => {
    expect(FRAME_LABELS).toEqual(['+1', '+2', '+3', '-1', '-2', '-3']);
  });
});

describe('translateRecords', () => {
  const records = [record('chunkA', 'ATGGCCTAA'), record('chunkB', 'ATGA')];

  it('translateRecords names proteins after record and frame', () => {
    const result = translateRecords(records);
    expect(result.records.map((item) => item.id)).toEqual([
      'chunkA_frame+1',
      'chunkA_frame+2',
      'chunkA_frame+3',
      'chunkA_frame-1',
      'chunkA_frame-3',
      'chunkB_frame+1',
      'chunkB_frame-1',
      'chunkB_frame-2',
    ]);
  });

  it('translateRecords keeps the protein sequence', () => {
    const result = translateRecords(records);
    expect(result.records[3]).toEqual({
      id: 'chunkA_frame-1',
      header: 'chunkA_frame-1 frame -1 of chunkA',
      sequence: 'LGH',
    });
  });

  it('translateRecords counts kept and dropped frames', () => {
    const result = translateRecords(records);
    expect(result).toMatchObject({
      keptFrameCount: 8,
      droppedFrameCount: 4,
      droppedByReason: { 'internal-stop': 1, 'terminal-stop': 0, empty: 3 },
      recordsWithoutFrameCount: 0,
    });
  });

  it('translateRecords states the counts in a notice', () => {
    const result = translateRecords(records);
    expect(result.notices).toEqual([
      {
        level: 'info',
        code: 'six-frame-translation',
        message:
          'Six-frame translation of 2 records kept 8 frames and dropped 4: 1 with an internal stop codon, ' +
          '0 with a terminal stop codon and 3 with no amino acid.',
        count: 8,
      },
    ]);
  });

  it('translateRecords counts records without a kept frame', () => {
    const result = translateRecords([record('tiny', 'AT'), record('ok', 'ATGGCC')]);
    expect(result.recordsWithoutFrameCount).toBe(1);
  });

  it('translateRecords output passes the ESM-2 residue check', () => {
    const result = translateRecords([record('a', 'ATGNNNTGGAAACCCGGGTTT')]);
    expect(prepareProteins(result.records).skippedCount).toBe(0);
  });

  it('translateRecords rejects input with no kept frame', () => {
    const call = () => translateRecords([record('tiny', 'AT')]);
    expect(call).toThrow(InvalidFastaError);
    expect(call).toThrow(
      'None of the 6 frames of 1 record gave a protein for ESM-2: each frame was dropped for a stop codon ' +
        'or for having no complete codon. Check that the input is coding DNA.',
    );
  });
});
