/** Seeded synthetic proteins, for profiling without an input file. */
import { InvalidSyntheticOptionsError } from './errors';
import type { FastaRecord } from './fasta';
import { ESM_MAX_RESIDUES } from './protein';
import { createRng, randomInt, type Rng } from './random';

export interface SyntheticProteinOptions {
  /** Seed of the random generator, an integer. The generator uses it modulo 2^32. */
  seed: number;
  count: number;
  /** Minimum protein length in residues, without special tokens. */
  minLength: number;
  /** Maximum protein length in residues. Equal to minLength for proteins of one fixed length. */
  maxLength: number;
}

export const DEFAULT_SYNTHETIC_PROTEINS: SyntheticProteinOptions = Object.freeze({
  seed: 42,
  count: 256,
  minLength: 64,
  maxLength: 512,
});

/**
 * Occurrence of the 20 standard amino acids in proteins, in percent: R. F. Doolittle (1989), computed from
 * 1150 protein sequences, as listed in Per Kraulis's table "The 20 common amino acids" (avatar.se, 2001).
 */
const AMINO_ACID_PERCENT: Readonly<Record<string, number>> = {
  L: 9.1, A: 7.8, G: 7.2, V: 6.6, E: 6.3, S: 6.8, I: 5.3, K: 5.9, R: 5.1, D: 5.3,
  T: 5.9, P: 5.2, N: 4.3, Q: 4.2, F: 3.9, Y: 3.2, M: 2.3, H: 2.3, C: 1.9, W: 1.4,
};

const AMINO_ACIDS: string[] = Object.keys(AMINO_ACID_PERCENT);

/** Running sum of the percentages, in AMINO_ACIDS order, for inverse-CDF sampling. */
const CUMULATIVE_PERCENT: Float64Array = (() => {
  const cumulative = new Float64Array(AMINO_ACIDS.length);
  let sum = 0;
  AMINO_ACIDS.forEach((residue, index) => {
    sum += AMINO_ACID_PERCENT[residue];
    cumulative[index] = sum;
  });
  return cumulative;
})();

/**
 * Generates `count` random proteins with lengths drawn uniformly from [minLength, maxLength] and residues
 * drawn with natural amino-acid frequencies. The same options always give the same records. IDs are
 * synthetic_0001, synthetic_0002 and so on, with more digits when count exceeds 9999.
 * Throws InvalidSyntheticOptionsError for an out-of-range or non-integer option.
 */
export function synthesizeProteins(options: SyntheticProteinOptions): FastaRecord[] {
  validateSyntheticOptions(options);
  const { seed, count, minLength, maxLength } = options;
  const rng = createRng(seed);
  const idDigits = Math.max(4, String(count).length);
  const records: FastaRecord[] = [];

  for (let index = 1; index <= count; index += 1) {
    const lengthResidues = randomInt(rng, minLength, maxLength);
    const id = `synthetic_${String(index).padStart(idDigits, '0')}`;
    records.push({
      id,
      header: `${id} synthetic protein, seed ${seed}, ${lengthResidues} residues`,
      sequence: randomProtein(rng, lengthResidues),
    });
  }
  return records;
}

/** Throws InvalidSyntheticOptionsError naming the first invalid option and its value. */
export function validateSyntheticOptions(options: SyntheticProteinOptions): void {
  validateSyntheticShape(options, { maxLength: ESM_MAX_RESIDUES, lengthUnit: 'residues', sequenceNoun: 'proteins' });
}

/**
 * Checks the options that synthetic proteins and synthetic DNA share: seed, count and the length range.
 * Throws InvalidSyntheticOptionsError naming the first invalid option and its value.
 */
export function validateSyntheticShape(
  options: { seed: number; count: number; minLength: number; maxLength: number },
  limits: { maxLength: number; lengthUnit: string; sequenceNoun: string },
): void {
  const { seed, count, minLength, maxLength } = options;
  const { lengthUnit, sequenceNoun } = limits;

  if (!Number.isSafeInteger(seed)) {
    throw new InvalidSyntheticOptionsError('seed', seed, `Invalid seed ${seed}: expected an integer.`);
  }
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new InvalidSyntheticOptionsError(
      'count',
      count,
      `Invalid count ${count}: expected an integer number of ${sequenceNoun} of at least 1.`,
    );
  }
  if (!Number.isInteger(minLength) || minLength < 1 || minLength > limits.maxLength) {
    throw new InvalidSyntheticOptionsError(
      'minLength',
      minLength,
      `Invalid minLength ${minLength}: expected an integer from 1 to ${limits.maxLength} ${lengthUnit}.`,
    );
  }
  if (!Number.isInteger(maxLength) || maxLength < minLength || maxLength > limits.maxLength) {
    throw new InvalidSyntheticOptionsError(
      'maxLength',
      maxLength,
      `Invalid maxLength ${maxLength}: expected an integer from minLength (${minLength}) ` +
        `to ${limits.maxLength} ${lengthUnit}. Set maxLength equal to minLength for ${sequenceNoun} of one length.`,
    );
  }
}

function randomProtein(rng: Rng, lengthResidues: number): string {
  const total = CUMULATIVE_PERCENT[CUMULATIVE_PERCENT.length - 1];
  const residues = new Array<string>(lengthResidues);
  for (let i = 0; i < lengthResidues; i += 1) {
    const target = rng() * total;
    let index = 0;
    while (index < CUMULATIVE_PERCENT.length - 1 && CUMULATIVE_PERCENT[index] <= target) index += 1;
    residues[i] = AMINO_ACIDS[index];
  }
  return residues.join('');
}
