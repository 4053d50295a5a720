import { describe, expect, it } from 'vitest';
import { HIGH_N_FRACTION, prepareDna } from '../../src/sequences/dna';
import { InvalidFastaError } from '../../src/sequences/errors';
import { readFasta, type FastaRecord } from '../../src/sequences/fasta';
import { MAX_NOTICES_PER_CODE } from '../../src/sequences/notices';

function record(id: string, sequence: string): FastaRecord {
  return { id, header: `${id} test contig`, sequence };
}

function prepareError(records: FastaRecord[]): InvalidFastaError {
  try {
    prepareDna(records);
  } catch (error) {
    if (error instanceof InvalidFastaError) return error;
    throw error;
  }
  throw new Error('Expected prepareDna to throw InvalidFastaError, but it returned.');
}

/** A protein of 40 residues, of which 7 are A, C, G, T or N. */
const PROTEIN = 'MKVLLAEFIPQGTCNSWYDHMKVLLAEFIPQRSTVWYDEH';

describe('prepareDna accepted bases', () => {
  it('prepareDna keeps an ACGTN record unchanged', () => {
    const input = record('a', 'ACGTNACGT');
    const result = prepareDna([input]);
    expect(result.records[0]).toBe(input);
  });

  it('prepareDna gives no notices for clean DNA', () => {
    const result = prepareDna([record('a', 'ACGTACGTAC')]);
    expect(result.notices).toEqual([]);
  });

  it('prepareDna counts bases of usable records', () => {
    const result = prepareDna([record('a', 'ACGT'), record('b', 'ACG-T'), record('c', 'GGN')]);
    expect(result.baseCount).toBe(7);
  });
});

describe('prepareDna lower case', () => {
  it('prepareDna upper-cases a lower-case record', () => {
    const result = prepareDna([record('a', 'acgtNn')]);
    expect(result.records[0].sequence).toBe('ACGTNN');
  });

  it('prepareDna gives one notice for lower-case records', () => {
    const result = prepareDna([record('a', 'acgt'), record('b', 'ACgt'), record('c', 'ACGT')]);
    expect(result.notices).toEqual([
      {
        level: 'info',
        code: 'lowercase-converted',
        message: '2 records contained lower-case letters, which were converted to upper case.',
        count: 2,
      },
    ]);
  });

  it('prepareDna adds no second notice after readFasta', async () => {
    const fasta = await readFasta('>a\nacgtnacgt\n>b\nACGTryk\n');
    const result = prepareDna(fasta.records);
    const notices = [...fasta.notices, ...result.notices].filter((item) => item.code === 'lowercase-converted');
    expect(notices).toHaveLength(1);
  });

  it('prepareDna counts no lower case after readFasta', async () => {
    const fasta = await readFasta('>a\nacgtnacgt\n');
    expect(prepareDna(fasta.records).lowercaseRecordCount).toBe(0);
  });
});

describe('prepareDna ambiguity codes', () => {
  it('prepareDna maps ambiguity codes to N', () => {
    const result = prepareDna([record('a', 'ACGRTYNRK')]);
    expect(result.records[0].sequence).toBe('ACGNTNNNN');
  });

  it.each([...'RYSWKMBDHV'])('prepareDna maps %s to N', (code) => {
    const result = prepareDna([record('a', `AC${code}GT`)]);
    expect(result.records[0].sequence).toBe('ACNGT');
  });

  it('prepareDna counts each ambiguity code', () => {
    const result = prepareDna([record('a', 'ACGRTYNRK'), record('b', 'RRACGT')]);
    expect(result.ambiguityCounts).toEqual({ R: 4, Y: 1, K: 1 });
  });

  it('prepareDna names codes and counts in one notice', () => {
    const result = prepareDna([record('a', 'ACGRTYNRK'), record('b', 'RRACGT'), record('c', 'ACGT')]);
    expect(result.notices.filter((item) => item.code === 'ambiguity-replaced')).toEqual([
      {
        level: 'info',
        code: 'ambiguity-replaced',
        message: 'Replaced 6 IUPAC ambiguity codes with N in 2 records: R 4, Y 1, K 1.',
        count: 6,
      },
    ]);
  });

  it('prepareDna leaves the input record unchanged', () => {
    const input = record('a', 'ACGRT');
    prepareDna([input]);
    expect(input.sequence).toBe('ACGRT');
  });

  it('prepareDna keeps a short record of ambiguity codes', () => {
    const result = prepareDna([record('a', 'RYKMSWRYKM')]);
    expect(result.records[0].sequence).toBe('NNNNNNNNNN');
  });
});

describe('prepareDna uracil', () => {
  it('prepareDna replaces U with T', () => {
    const result = prepareDna([record('rna', 'ACGUUAGU')]);
    expect(result.records[0].sequence).toBe('ACGTTAGT');
  });

  it('prepareDna notes records with uracil', () => {
    const result = prepareDna([record('rna', 'ACGU'), record('dna', 'ACGT')]);
    expect(result.notices).toContainEqual(expect.objectContaining({ code: 'uracil-converted', count: 1 }));
  });

  it('prepareDna counts records with uracil', () => {
    const result = prepareDna([record('rna', 'ACGU'), record('dna', 'ACGT')]);
    expect(result.uracilRecordCount).toBe(1);
  });
});

describe('prepareDna invalid characters', () => {
  const records = [
    record('ok1', 'ACGT'),
    record('gap', 'ACG-T-A'),
    record('ok2', 'GGCC'),
    record('nbsp', 'AC\u00a0GT'),
  ];

  it('prepareDna skips records with invalid characters', () => {
    const result = prepareDna(records);
    expect(result.records.map((item) => item.id)).toEqual(['ok1', 'ok2']);
  });

  it('prepareDna counts skipped records', () => {
    expect(prepareDna(records).skippedCount).toBe(2);
  });

  it('prepareDna reports record, position and count', () => {
    const notice = prepareDna(records).notices.find((item) => item.recordId === 'gap');
    expect(notice).toMatchObject({ level: 'warning', code: 'invalid-base', position: 4, count: 2 });
  });

  it('prepareDna suggests removing alignment gaps', () => {
    const notice = prepareDna(records).notices.find((item) => item.recordId === 'gap');
    expect(notice?.message).toBe(
      "Record 'gap' has '-' at position 4 (and 1 more invalid characters), which is not an IUPAC nucleotide " +
        'code, so the record is skipped. Remove alignment gaps to keep it.',
    );
  });

  it('prepareDna suggests N for unknown letters', () => {
    const result = prepareDna([record('x', 'ACGXT'), record('ok', 'ACGT')]);
    expect(result.notices[0].message).toBe(
      "Record 'x' has 'X' at position 4, which is not an IUPAC nucleotide code, so the record is skipped. " +
        'Replace unknown bases with N to keep it.',
    );
  });

  it('prepareDna names an invisible character by code point', () => {
    const notice = prepareDna(records).notices.find((item) => item.recordId === 'nbsp');
    expect(notice?.message).toContain('character U+00A0 at position 3');
  });

  it('prepareDna excludes skipped records from ambiguity counts', () => {
    const result = prepareDna([record('bad', 'ACRY-T'), record('ok', 'ACGT')]);
    expect(result.ambiguityCounts).toEqual({});
  });

  it('prepareDna caps invalid-base notices', () => {
    const many = Array.from({ length: 30 }, (_, index) => record(`bad${index}`, 'AC*GT'));
    const result = prepareDna([...many, record('ok', 'ACGT')]);
    const listed = result.notices.filter((item) => item.code === 'invalid-base' && item.recordId);
    expect(listed).toHaveLength(MAX_NOTICES_PER_CODE);
  });

  it('prepareDna skips an empty record', () => {
    const result = prepareDna([record('empty', ''), record('ok', 'ACGT')]);
    expect(result.notices).toContainEqual(expect.objectContaining({ code: 'empty-sequence', recordId: 'empty' }));
  });
});

describe('prepareDna N share', () => {
  it('prepareDna computes nFraction over usable records', () => {
    const result = prepareDna([record('a', 'ACGTN'), record('b', 'NNNNN'), record('bad', 'NNNN-')]);
    expect(result.nFraction).toBe(0.6);
  });

  it('prepareDna counts replaced ambiguity codes as N', () => {
    const result = prepareDna([record('a', 'ACGTNRYACG')]);
    expect(result.nCount).toBe(3);
  });

  it('prepareDna warns when N exceeds the threshold', () => {
    const result = prepareDna([record('a', 'ACGTN'), record('b', 'NNNNN')]);
    expect(result.notices).toContainEqual({
      level: 'warning',
      code: 'high-n-fraction',
      message:
        '60.0% of the 10 bases are N (ambiguity codes included), more than 5.0%. N carries no sequence ' +
        'information, so embeddings of N-rich regions say little about the sequence.',
      count: 6,
    });
  });

  it('prepareDna does not warn at exactly the threshold', () => {
    const sequence = `${'ACGT'.repeat(4)}ACGN`;
    const result = prepareDna([record('a', sequence)]);
    expect(result.nFraction).toBe(HIGH_N_FRACTION);
    expect(result.notices).toEqual([]);
  });
});

describe('prepareDna protein input', () => {
  it('prepareDna skips a record that looks like protein', () => {
    const result = prepareDna([record('protein', PROTEIN), record('dna', 'ACGT')]);
    expect(result.records.map((item) => item.id)).toEqual(['dna']);
  });

  it('prepareDna counts protein-like records', () => {
    const result = prepareDna([record('protein', PROTEIN), record('dna', 'ACGT')]);
    expect(result.proteinLikeCount).toBe(1);
  });

  it('prepareDna tells why a record looks like protein', () => {
    const result = prepareDna([record('protein', PROTEIN), record('dna', 'ACGT')]);
    expect(result.notices[0]).toEqual({
      level: 'warning',
      code: 'protein-like',
      message:
        "Record 'protein' looks like protein: only 17.5% of its characters are A, C, G, T, U or N, " +
        'so it is skipped. Load protein sequences with an ESM-2 model.',
      recordId: 'protein',
    });
  });

  it('prepareDna flags protein made of IUPAC letters', () => {
    const iupacOnlyProtein = 'MKVRSWYDHB'.repeat(4);
    const result = prepareDna([record('protein', iupacOnlyProtein), record('dna', 'ACGT')]);
    expect(result.proteinLikeCount).toBe(1);
  });

  it('prepareDna suggests ESM-2 for a protein file', () => {
    const error = prepareError([record('p1', PROTEIN), record('p2', PROTEIN)]);
    expect(error.message).toBe(
      'None of the 2 records can be used as DNABERT-S input, and all of them look like protein. ' +
        'Choose an ESM-2 model for protein sequences, or load a DNA FASTA file.',
    );
  });

  it('prepareDna rejects a file of invalid records', () => {
    const error = prepareError([record('a', 'AC-GT'), record('b', '1234')]);
    expect(error.message).toContain('None of the 2 records can be used as DNABERT-S input');
  });

  it('prepareDna rejects an empty record list', () => {
    expect(prepareError([]).message).toContain('No DNA records were given');
  });
});
