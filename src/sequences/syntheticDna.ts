/** Seeded synthetic DNA with a set GC content, for profiling DNABERT-S without an input file. */
import { InvalidSyntheticOptionsError } from './errors';
import type { FastaRecord } from './fasta';
import { validateSyntheticShape } from './synthetic';
import { createRng, randomInt, type Rng } from './random';

export interface SyntheticDnaOptions {
  /** Seed of the random generator, an integer. The generator uses it modulo 2^32. */
  seed: number;
  count: number;
  /** Minimum sequence length in bp. */
  minLength: number;
  /** Maximum sequence length in bp. Equal to minLength for sequences of one fixed length. */
  maxLength: number;
  /** Expected share of G and C among the bases, from 0 to 1. */
  gcContent: number;
}

/** 256 sequences of 500 bp, one VirNucPro chunk length, at a GC content of 0.5. */
export const DEFAULT_SYNTHETIC_DNA: SyntheticDnaOptions = Object.freeze({
  seed: 42,
  count: 256,
  minLength: 500,
  maxLength: 500,
  gcContent: 0.5,
});

/**
 * Maximum synthetic sequence length in bp. Profiling inputs are cut into chunks of a few hundred bp, so a
 * longer setting is more likely a typing error than a need, and it would hold megabytes per record.
 */
export const MAX_SYNTHETIC_DNA_LENGTH = 1_000_000;

/**
 * Generates `count` random DNA sequences with lengths drawn uniformly from [minLength, maxLength]. Each
 * base is drawn independently: G or C with probability gcContent / 2 each, A or T with probability
 * (1 - gcContent) / 2 each. The same options always give the same records. IDs are
 * synthetic_dna_0001, synthetic_dna_0002 and so on, with more digits when count exceeds 9999.
 * Throws InvalidSyntheticOptionsError for an out-of-range or non-integer option.
 */
export function synthesizeDna(options: SyntheticDnaOptions): FastaRecord[] {
  validateSyntheticDnaOptions(options);
  const { seed, count, minLength, maxLength, gcContent } = options;
  const rng = createRng(seed);
  const idDigits = Math.max(4, String(count).length);
  const records: FastaRecord[] = [];

  for (let index = 1; index <= count; index += 1) {
    const lengthBp = randomInt(rng, minLength, maxLength);
    const id = `synthetic_dna_${String(index).padStart(idDigits, '0')}`;
    records.push({
      id,
      header: `${id} synthetic DNA, seed ${seed}, ${lengthBp} bp, GC content ${gcContent}`,
      sequence: randomDna(rng, lengthBp, gcContent),
    });
  }
  return records;
}

/** Throws InvalidSyntheticOptionsError naming the first invalid option and its value. */
export function validateSyntheticDnaOptions(options: SyntheticDnaOptions): void {
  const { gcContent } = options;
  validateSyntheticShape(options, { maxLength: MAX_SYNTHETIC_DNA_LENGTH, lengthUnit: 'bp', sequenceNoun: 'sequences' });
  if (typeof gcContent !== 'number' || !(gcContent >= 0 && gcContent <= 1)) {
    throw new InvalidSyntheticOptionsError(
      'gcContent',
      gcContent,
      `Invalid gcContent ${gcContent}: expected a share of G and C from 0 to 1, such as 0.42 for 42%.`,
    );
  }
}

function randomDna(rng: Rng, lengthBp: number, gcContent: number): string {
  const bases = new Array<string>(lengthBp);
  for (let i = 0; i < lengthBp; i += 1) {
    // One draw per base: [0, gc/2) is G, [gc/2, gc) is C, [gc, gc + at/2) is A, the rest is T.
    const draw = rng();
    if (draw < gcContent) {
      bases[i] = draw < gcContent / 2 ? 'G' : 'C';
    } else {
      bases[i] = draw < gcContent + (1 - gcContent) / 2 ? 'A' : 'T';
    }
  }
  return bases.join('');
}
