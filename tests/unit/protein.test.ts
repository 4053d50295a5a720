import { describe, expect, it } from 'vitest';
import { InvalidFastaError } from '../../src/sequences/errors';
import type { FastaRecord } from '../../src/sequences/fasta';
import { MAX_NOTICES_PER_CODE } from '../../src/sequences/notices';
import {
  ESM_ALPHABET,
  ESM_MAX_RESIDUES,
  ESM_RESIDUES,
  encodeEsm,
  prepareProteins,
} from '../../src/sequences/protein';

function record(id: string, sequence: string): FastaRecord {
  return { id, header: `${id} test protein`, sequence };
}

function prepareError(records: FastaRecord[]): InvalidFastaError {
  try {
    prepareProteins(records);
  } catch (error) {
    if (error instanceof InvalidFastaError) return error;
    throw error;
  }
  throw new Error('Expected prepareProteins to throw InvalidFastaError, but it returned.');
}

describe('ESM_ALPHABET', () => {
  it('ESM_ALPHABET has 33 tokens', () => {
    expect(ESM_ALPHABET).toHaveLength(33);
  });

  it.each([
    [0, '<cls>'],
    [1, '<pad>'],
    [2, '<eos>'],
    [3, '<unk>'],
    [4, 'L'],
    [5, 'A'],
    [23, 'C'],
    [24, 'X'],
    [29, '.'],
    [30, '-'],
    [31, '<null_1>'],
    [32, '<mask>'],
  ])('ESM_ALPHABET has id %i for %s', (id, token) => {
    expect(ESM_ALPHABET[id]).toBe(token);
  });

  it('ESM_RESIDUES lists ids 4 to 30 in order', () => {
    expect(ESM_RESIDUES).toBe('LAGVSERTIDPKQNFYMHWCXBUZO.-');
  });
});

describe('encodeEsm', () => {
  it('encodeEsm wraps residue ids in cls and eos', () => {
    expect(Array.from(encodeEsm('MKV'))).toEqual([0, 20, 15, 7, 2]);
  });

  it('encodeEsm encodes every residue to its alphabet id', () => {
    const ids = Array.from(encodeEsm(ESM_RESIDUES));
    expect(ids).toEqual([0, ...Array.from({ length: 27 }, (_, index) => index + 4), 2]);
  });

  it('encodeEsm encodes an empty sequence as cls and eos', () => {
    expect(Array.from(encodeEsm(''))).toEqual([0, 2]);
  });

  it.each([
    ['J', "'J' at position 3"],
    ['*', "'*' at position 3"],
    ['a', "'a' at position 3"],
    ['\u00e9', 'character U+00E9 at position 3'],
  ])('encodeEsm rejects %s with its position', (char, expected) => {
    expect(() => encodeEsm(`MK${char}V`)).toThrow(expected);
  });
});

describe('prepareProteins stop codons', () => {
  it('prepareProteins drops a final stop codon', () => {
    const result = prepareProteins([record('a', 'MKV*')]);
    expect(result.records[0].sequence).toBe('MKV');
  });

  it('prepareProteins keeps records without a stop codon unchanged', () => {
    const input = record('a', 'MKV');
    const result = prepareProteins([input]);
    expect(result.records[0]).toEqual(input);
  });

  it('prepareProteins skips a record with an internal stop codon', () => {
    const result = prepareProteins([record('a', 'MK*V'), record('b', 'MKV')]);
    expect(result.records.map((item) => item.id)).toEqual(['b']);
  });

  it('prepareProteins names an internal stop codon in its notice', () => {
    const result = prepareProteins([record('a', 'MK*V'), record('b', 'MKV')]);
    expect(result.notices[0].message).toContain("internal stop codon '*' at position 3");
  });

  it('prepareProteins skips a record without sequence', () => {
    const result = prepareProteins([record('a', ''), record('b', 'MKV')]);
    expect(result.notices[0].message).toBe("Record 'a' has no sequence and is skipped.");
  });

  it('prepareProteins skips a record that is only a stop codon', () => {
    const result = prepareProteins([record('a', '*'), record('b', 'MKV')]);
    expect(result.notices).toContainEqual(expect.objectContaining({ code: 'empty-protein', recordId: 'a' }));
  });
});

describe('prepareProteins invalid residues', () => {
  const records = [record('ok1', 'MKV'), record('bad', 'MKJVBJ'), record('ok2', 'LLA'), record('dna?', 'MK\u00a0V')];

  it('prepareProteins skips records with invalid residues', () => {
    const result = prepareProteins(records);
    expect(result.records.map((item) => item.id)).toEqual(['ok1', 'ok2']);
  });

  it('prepareProteins counts skipped records', () => {
    const result = prepareProteins(records);
    expect(result.skippedCount).toBe(2);
  });

  it('prepareProteins reports record, position and count of invalid residues', () => {
    const result = prepareProteins(records);
    const notice = result.notices.find((item) => item.recordId === 'bad');
    expect(notice).toMatchObject({ level: 'warning', code: 'invalid-residue', position: 3, count: 2 });
  });

  it('prepareProteins says the record is skipped and suggests X', () => {
    const result = prepareProteins(records);
    const notice = result.notices.find((item) => item.recordId === 'bad');
    expect(notice?.message).toBe(
      "Record 'bad' has 'J' at position 3 (and 1 more invalid characters), which is not in the ESM-2 alphabet, " +
        'so the record is skipped. Replace unknown residues with X to keep it.',
    );
  });

  it('prepareProteins names an invisible character by code point', () => {
    const result = prepareProteins(records);
    const notice = result.notices.find((item) => item.recordId === 'dna?');
    expect(notice?.message).toContain('character U+00A0 at position 3');
  });

  it.each(['X', 'B', 'U', 'Z', 'O', '.', '-'])('prepareProteins accepts %s', (char) => {
    const result = prepareProteins([record('a', `MK${char}V`)]);
    expect(result.skippedCount).toBe(0);
  });

  it('prepareProteins caps invalid-residue notices', () => {
    const many = Array.from({ length: 30 }, (_, index) => record(`bad${index}`, 'MKJ'));
    const result = prepareProteins([...many, record('ok', 'MKV')]);
    const listed = result.notices.filter((item) => item.code === 'invalid-residue' && item.recordId);
    expect(listed).toHaveLength(MAX_NOTICES_PER_CODE);
  });
});

describe('prepareProteins no usable record', () => {
  it('prepareProteins rejects input whose records are all invalid', () => {
    const error = prepareError([record('a', 'MKJ'), record('b', '1234')]);
    expect(error.message).toContain('None of the 2 records can be used as ESM-2 input');
  });

  it('prepareProteins rejects an empty record list', () => {
    const error = prepareError([]);
    expect(error.message).toContain('No protein records were given');
  });
});

describe('prepareProteins truncation', () => {
  const long = 'M'.repeat(ESM_MAX_RESIDUES + 10);
  const longer = 'A'.repeat(ESM_MAX_RESIDUES + 500);

  it('prepareProteins truncates proteins over the maximum', () => {
    const result = prepareProteins([record('a', long), record('b', 'MKV')]);
    expect(result.records[0].sequence).toHaveLength(ESM_MAX_RESIDUES);
  });

  it('prepareProteins keeps the start of a truncated protein', () => {
    const result = prepareProteins([record('a', `MKV${long}`)]);
    expect(result.records[0].sequence.slice(0, 4)).toBe('MKVM');
  });

  it('prepareProteins keeps a protein of exactly the maximum', () => {
    const result = prepareProteins([record('a', 'L'.repeat(ESM_MAX_RESIDUES))]);
    expect(result.truncatedCount).toBe(0);
  });

  it('prepareProteins counts truncated proteins', () => {
    const result = prepareProteins([record('a', long), record('b', 'MKV'), record('c', longer)]);
    expect(result.truncatedCount).toBe(2);
  });

  it('prepareProteins gives one truncation warning with the count', () => {
    const result = prepareProteins([record('a', long), record('b', 'MKV'), record('c', longer)]);
    const notices = result.notices.filter((item) => item.code === 'truncated');
    expect(notices).toEqual([
      {
        level: 'warning',
        code: 'truncated',
        message:
          `2 proteins longer than 1022 residues (the longest has ${ESM_MAX_RESIDUES + 500}) ` +
          'were truncated to the first 1022 residues.',
        count: 2,
      },
    ]);
  });

  it('prepareProteins truncates to a custom maximum', () => {
    const result = prepareProteins([record('a', 'MKVLLA')], { maxResidues: 4 });
    expect(result.records[0].sequence).toBe('MKVL');
  });

  it.each([0, -1, 2.5, Number.NaN])('prepareProteins rejects maxResidues %s', (maxResidues) => {
    expect(() => prepareProteins([record('a', 'MKV')], { maxResidues })).toThrow(RangeError);
  });
});

describe('prepareProteins nucleotide check', () => {
  it('prepareProteins warns when records look like DNA', () => {
    const result = prepareProteins([record('dna', 'ACGT'.repeat(20)), record('protein', 'MKVLLA'.repeat(10))]);
    expect(result.notices).toContainEqual(expect.objectContaining({ code: 'nucleotide-like', count: 1 }));
  });

  it('prepareProteins warns about DNA with a few ambiguity codes', () => {
    const dna = `${'ACGT'.repeat(30)}RYKM`;
    const result = prepareProteins([record('dna', dna)]);
    expect(result.notices).toContainEqual(expect.objectContaining({ code: 'nucleotide-like', count: 1 }));
  });

  it('prepareProteins does not flag a protein rich in A, C, G and T', () => {
    const result = prepareProteins([record('protein', 'GAGTCGAKVL'.repeat(5))]);
    expect(result.notices).toEqual([]);
  });

  it('prepareProteins ignores short all-ACGT peptides', () => {
    const result = prepareProteins([record('peptide', 'GATTACA')]);
    expect(result.notices).toEqual([]);
  });
});
