import { describe, expect, it } from 'vitest';
import { prepareDna } from '../../src/sequences/dna';
import { InvalidSyntheticOptionsError } from '../../src/sequences/errors';
import {
  DEFAULT_SYNTHETIC_DNA,
  MAX_SYNTHETIC_DNA_LENGTH,
  synthesizeDna,
  type SyntheticDnaOptions,
} from '../../src/sequences/syntheticDna';

function options(overrides: Partial<SyntheticDnaOptions> = {}): SyntheticDnaOptions {
  return { ...DEFAULT_SYNTHETIC_DNA, ...overrides };
}

function gcShare(sequences: string[]): number {
  const text = sequences.join('');
  const gc = text.match(/[GC]/g)?.length ?? 0;
  return gc / text.length;
}

describe('DEFAULT_SYNTHETIC_DNA', () => {
  it('DEFAULT_SYNTHETIC_DNA has seed 42, 256 sequences of 500 bp at GC 0.5', () => {
    expect(DEFAULT_SYNTHETIC_DNA).toEqual({ seed: 42, count: 256, minLength: 500, maxLength: 500, gcContent: 0.5 });
  });
});

describe('synthesizeDna', () => {
  it('synthesizeDna returns count records', () => {
    expect(synthesizeDna(options())).toHaveLength(256);
  });

  it('synthesizeDna numbers IDs from synthetic_dna_0001', () => {
    const ids = synthesizeDna(options({ count: 3 })).map((record) => record.id);
    expect(ids).toEqual(['synthetic_dna_0001', 'synthetic_dna_0002', 'synthetic_dna_0003']);
  });

  it('synthesizeDna widens IDs beyond 9999 records', () => {
    const records = synthesizeDna(options({ count: 10_000, minLength: 1, maxLength: 1 }));
    expect(records[0].id).toBe('synthetic_dna_00001');
  });

  it('synthesizeDna states seed, length and GC in the header', () => {
    const [first] = synthesizeDna(options({ count: 1, minLength: 300, maxLength: 300, gcContent: 0.42 }));
    expect(first.header).toBe('synthetic_dna_0001 synthetic DNA, seed 42, 300 bp, GC content 0.42');
  });

  it('synthesizeDna gives one fixed length by default', () => {
    const lengths = new Set(synthesizeDna(options()).map((record) => record.sequence.length));
    expect([...lengths]).toEqual([500]);
  });

  it('synthesizeDna keeps lengths within a range', () => {
    const lengths = synthesizeDna(options({ minLength: 200, maxLength: 2000 })).map((record) => record.sequence.length);
    expect(lengths.every((length) => length >= 200 && length <= 2000)).toBe(true);
  });

  it('synthesizeDna spreads lengths over a range', () => {
    const lengths = synthesizeDna(options({ minLength: 200, maxLength: 2000 })).map((record) => record.sequence.length);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeGreaterThan(1500);
  });

  it('synthesizeDna uses only A, C, G and T', () => {
    const bases = new Set(synthesizeDna(options()).flatMap((record) => [...record.sequence]));
    expect([...bases].sort().join('')).toBe('ACGT');
  });

  it('synthesizeDna output passes the DNA check unchanged', () => {
    const records = synthesizeDna(options());
    const result = prepareDna(records);
    expect(result.records).toEqual(records);
    expect(result.notices).toEqual([]);
  });
});

describe('synthesizeDna GC content', () => {
  it.each([0.2, 0.5, 0.65])('synthesizeDna matches GC content %s within 0.01', (gcContent) => {
    const sequences = synthesizeDna(options({ gcContent })).map((record) => record.sequence);
    expect(Math.abs(gcShare(sequences) - gcContent)).toBeLessThan(0.01);
  });

  it('synthesizeDna at GC 0 uses only A and T', () => {
    const bases = new Set(synthesizeDna(options({ gcContent: 0 })).flatMap((record) => [...record.sequence]));
    expect([...bases].sort().join('')).toBe('AT');
  });

  it('synthesizeDna at GC 1 uses only C and G', () => {
    const bases = new Set(synthesizeDna(options({ gcContent: 1 })).flatMap((record) => [...record.sequence]));
    expect([...bases].sort().join('')).toBe('CG');
  });

  it('synthesizeDna draws G as often as C', () => {
    const text = synthesizeDna(options()).map((record) => record.sequence).join('');
    const g = text.split('G').length - 1;
    const c = text.split('C').length - 1;
    expect(Math.abs(g - c) / text.length).toBeLessThan(0.01);
  });
});

describe('synthesizeDna seeding', () => {
  it('synthesizeDna repeats sequences for the same seed', () => {
    expect(synthesizeDna(options({ seed: 7 }))).toEqual(synthesizeDna(options({ seed: 7 })));
  });

  it('synthesizeDna changes sequences with the seed', () => {
    const first = synthesizeDna(options({ seed: 7 }))[0].sequence;
    const second = synthesizeDna(options({ seed: 8 }))[0].sequence;
    expect(first).not.toBe(second);
  });

  it('synthesizeDna keeps earlier records when count grows', () => {
    const small = synthesizeDna(options({ count: 10 }));
    const large = synthesizeDna(options({ count: 20 }));
    expect(large.slice(0, 10)).toEqual(small);
  });
});

describe('synthesizeDna validation', () => {
  it.each([
    ['seed', { seed: 1.5 }],
    ['seed', { seed: Number.NaN }],
    ['count', { count: 0 }],
    ['count', { count: 2.5 }],
    ['minLength', { minLength: 0 }],
    ['minLength', { minLength: 1.5 }],
    ['minLength', { minLength: MAX_SYNTHETIC_DNA_LENGTH + 1, maxLength: MAX_SYNTHETIC_DNA_LENGTH + 1 }],
    ['maxLength', { minLength: 100, maxLength: 99 }],
    ['maxLength', { maxLength: MAX_SYNTHETIC_DNA_LENGTH + 1 }],
    ['maxLength', { maxLength: Number.POSITIVE_INFINITY }],
    ['gcContent', { gcContent: -0.1 }],
    ['gcContent', { gcContent: 1.1 }],
    ['gcContent', { gcContent: Number.NaN }],
    ['gcContent', { gcContent: '0.5' as unknown as number }],
  ] as const)('synthesizeDna rejects invalid %s', (option, overrides) => {
    const call = () => synthesizeDna(options(overrides));
    expect(call).toThrow(InvalidSyntheticOptionsError);
    expect(call).toThrow(expect.objectContaining({ option }));
  });

  it('synthesizeDna names the GC value in the message', () => {
    expect(() => synthesizeDna(options({ gcContent: 42 }))).toThrow(
      'Invalid gcContent 42: expected a share of G and C from 0 to 1, such as 0.42 for 42%.',
    );
  });

  it('synthesizeDna names the length value in the message', () => {
    expect(() => synthesizeDna(options({ minLength: 500, maxLength: 300 }))).toThrow(
      'Invalid maxLength 300: expected an integer from minLength (500) to 1000000 bp. ' +
        'Set maxLength equal to minLength for sequences of one length.',
    );
  });
});
