import { describe, expect, it } from 'vitest';
import { InvalidSyntheticOptionsError } from '../../src/sequences/errors';
import { prepareProteins } from '../../src/sequences/protein';
import {
  DEFAULT_SYNTHETIC_PROTEINS,
  synthesizeProteins,
  type SyntheticProteinOptions,
} from '../../src/sequences/synthetic';

const STANDARD_AMINO_ACIDS = 'ACDEFGHIKLMNPQRSTVWY';

function options(overrides: Partial<SyntheticProteinOptions> = {}): SyntheticProteinOptions {
  return { ...DEFAULT_SYNTHETIC_PROTEINS, ...overrides };
}

describe('DEFAULT_SYNTHETIC_PROTEINS', () => {
  it('DEFAULT_SYNTHETIC_PROTEINS has seed 42, 256 proteins of 64 to 512 residues', () => {
    expect(DEFAULT_SYNTHETIC_PROTEINS).toEqual({ seed: 42, count: 256, minLength: 64, maxLength: 512 });
  });
});

describe('synthesizeProteins', () => {
  it('synthesizeProteins returns count records', () => {
    expect(synthesizeProteins(options())).toHaveLength(256);
  });

  it('synthesizeProteins numbers IDs from synthetic_0001', () => {
    const ids = synthesizeProteins(options({ count: 3 })).map((record) => record.id);
    expect(ids).toEqual(['synthetic_0001', 'synthetic_0002', 'synthetic_0003']);
  });

  it('synthesizeProteins widens IDs beyond 9999 records', () => {
    const records = synthesizeProteins(options({ count: 10_000, minLength: 1, maxLength: 1 }));
    expect(records[0].id).toBe('synthetic_00001');
  });

  it('synthesizeProteins keeps lengths within the range', () => {
    const lengths = synthesizeProteins(options()).map((record) => record.sequence.length);
    expect(lengths.every((length) => length >= 64 && length <= 512)).toBe(true);
  });

  it('synthesizeProteins spreads lengths over the range', () => {
    const lengths = synthesizeProteins(options()).map((record) => record.sequence.length);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeGreaterThan(300);
  });

  it('synthesizeProteins gives one fixed length when min equals max', () => {
    const records = synthesizeProteins(options({ minLength: 100, maxLength: 100 }));
    const lengths = new Set(records.map((record) => record.sequence.length));
    expect([...lengths]).toEqual([100]);
  });

  it('synthesizeProteins uses only the 20 standard amino acids', () => {
    const residues = new Set(synthesizeProteins(options()).flatMap((record) => [...record.sequence]));
    expect([...residues].sort().join('')).toBe(STANDARD_AMINO_ACIDS);
  });

  it('synthesizeProteins draws leucine more often than tryptophan', () => {
    const text = synthesizeProteins(options()).map((record) => record.sequence).join('');
    const share = (residue: string) => text.split(residue).length - 1;
    expect(share('L')).toBeGreaterThan(4 * share('W'));
  });

  it('synthesizeProteins output passes the ESM-2 residue check', () => {
    const result = prepareProteins(synthesizeProteins(options()));
    expect(result.skippedCount).toBe(0);
  });
});

describe('synthesizeProteins seeding', () => {
  it('synthesizeProteins repeats sequences for the same seed', () => {
    expect(synthesizeProteins(options({ seed: 7 }))).toEqual(synthesizeProteins(options({ seed: 7 })));
  });

  it('synthesizeProteins changes sequences with the seed', () => {
    const first = synthesizeProteins(options({ seed: 7 }))[0].sequence;
    const second = synthesizeProteins(options({ seed: 8 }))[0].sequence;
    expect(first).not.toBe(second);
  });

  it('synthesizeProteins keeps earlier records when count grows', () => {
    const small = synthesizeProteins(options({ count: 10 }));
    const large = synthesizeProteins(options({ count: 20 }));
    expect(large.slice(0, 10)).toEqual(small);
  });
});

describe('synthesizeProteins validation', () => {
  it.each([
    ['seed', { seed: 1.5 }],
    ['seed', { seed: Number.NaN }],
    ['count', { count: 0 }],
    ['count', { count: 2.5 }],
    ['minLength', { minLength: 0 }],
    ['minLength', { minLength: 1.5 }],
    ['minLength', { minLength: 1023, maxLength: 1023 }],
    ['maxLength', { minLength: 100, maxLength: 99 }],
    ['maxLength', { maxLength: 1023 }],
    ['maxLength', { maxLength: Number.POSITIVE_INFINITY }],
  ] as const)('synthesizeProteins rejects invalid %s', (option, overrides) => {
    const call = () => synthesizeProteins(options(overrides));
    expect(call).toThrow(InvalidSyntheticOptionsError);
    expect(call).toThrow(expect.objectContaining({ option }));
  });

  it('synthesizeProteins names the value in the message', () => {
    expect(() => synthesizeProteins(options({ count: -3 }))).toThrow(
      'Invalid count -3: expected an integer number of proteins of at least 1.',
    );
  });

  it('synthesizeProteins accepts the extreme lengths', () => {
    const records = synthesizeProteins(options({ count: 2, minLength: 1, maxLength: 1022 }));
    expect(records).toHaveLength(2);
  });
});
