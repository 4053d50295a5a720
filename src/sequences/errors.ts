/**
 * Errors raised while reading and preparing sequence input. Each failure mode has its own class and
 * `name`, so that a caller can tell them apart after the error crosses a worker boundary as a plain object.
 */

/** Location of the problem in a FASTA input. Every field is optional because some errors concern the whole input. */
export interface FastaErrorDetails {
  fileName?: string;
  /** 1-based line number in the decompressed text. */
  line?: number;
  recordId?: string;
}

/** The input is not usable FASTA: a malformed, empty, corrupt or unsupported file, or one with no usable record. */
export class InvalidFastaError extends Error {
  override readonly name = 'InvalidFastaError';
  readonly details: FastaErrorDetails;

  constructor(message: string, details: FastaErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.details = details;
  }
}

/** A synthetic-protein setting (seed, count or length range) is out of range or not an integer. */
export class InvalidSyntheticOptionsError extends Error {
  override readonly name = 'InvalidSyntheticOptionsError';
  readonly option: string;
  readonly value: unknown;

  constructor(option: string, value: unknown, message: string) {
    super(message);
    this.option = option;
    this.value = value;
  }
}

/** A batch cannot be built from the given lengths, budget, count or encoded sequences. */
export class InvalidBatchRequestError extends Error {
  override readonly name = 'InvalidBatchRequestError';
  readonly argument: string;
  readonly value: unknown;

  constructor(argument: string, value: unknown, message: string) {
    super(message);
    this.argument = argument;
    this.value = value;
  }
}
