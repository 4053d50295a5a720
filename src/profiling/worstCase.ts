/**
 * Checks the recommended batch size against the worst batch of that size in the user's input: its
 * longest sequences together. A sweep batch follows the input order (or fair-esm's batching), so a file
 * with a few long outliers can meet a heavier batch in production than any batch the sweep ran.
 */
import type { PointResult, WorstCaseCheck } from '../report/result';
import type { BatchShape } from '../gpu/limits';
import { checkBatchAgainstLimits } from '../gpu/limits';
import type { ModelConfig } from '../models/catalog';
import type { BufferLimits } from '../models/feasibility';
import { fitMemoryModel, memorySamplesFromPoints, predictPeakBytes } from './memoryModel';

export interface WorstCaseContext {
  /** Shape of the recommended size with the longest sequences together. */
  shape: BatchShape;
  points: readonly PointResult[];
  /** Model config for the buffer-limit check; null for models without a known architecture. */
  config: ModelConfig | null;
  /** Device buffer limits; null on WASM. */
  limits: BufferLimits | null;
  /** Simulated GPU budget in bytes, or null for the device's own memory. */
  budgetBytes: number | null;
  /** GPU bytes live after session creation, which the memory model takes as its fixed term. */
  weightBytes: number | null;
}

const MEBIBYTE = 2 ** 20;

function mebibytes(bytes: number): string {
  return `${(bytes / MEBIBYTE).toFixed(1)} MiB`;
}

/**
 * Assesses the worst case: predicted peak bytes from a memory model fitted to the points that ran, and
 * the largest tensor against maxBufferSize. The message states whether the batch fits what was measured,
 * and what to do when it may not.
 */
export function assessWorstCase(context: WorstCaseContext): WorstCaseCheck {
  const { shape, points, config, limits, budgetBytes, weightBytes } = context;
  const check: WorstCaseCheck = {
    sequences: shape.sequences,
    paddedLength: shape.paddedLength,
    paddedTokens: shape.sequences * shape.paddedLength,
    predictedPeakBytes: null,
    withinBufferLimit: null,
    message: '',
  };
  const describe = `${shape.sequences} ${shape.sequences === 1 ? 'sequence' : 'sequences'} padded to ${shape.paddedLength} tokens`;

  if (limits && config) {
    const limitCheck = checkBatchAgainstLimits(config, shape.sequences, shape.paddedLength, limits);
    check.withinBufferLimit = limitCheck.ok;
    if (!limitCheck.ok) {
      check.message = `The worst case in this input, ${describe}, exceeds a buffer limit: ${limitCheck.message}`;
      return check;
    }
  }

  const samples = memorySamplesFromPoints(points);
  if (samples.length < 2) {
    check.message = `The worst case in this input is ${describe}. No memory prediction: fewer than two points with GPU memory figures ran${limits ? '' : ' (the WASM backend uses no GPU memory)'}.`;
    return check;
  }
  const model = fitMemoryModel(samples, { fixedBytes: weightBytes ?? undefined });
  const predicted = predictPeakBytes(model, shape.sequences, shape.paddedLength);
  check.predictedPeakBytes = Math.round(predicted);

  const measuredMax = Math.max(...samples.map((sample) => sample.peakBytes));
  const prediction = `The worst case in this input, ${describe}, is predicted to peak at ${mebibytes(predicted)}`;
  if (budgetBytes !== null && predicted > budgetBytes) {
    check.message = `${prediction}, above the simulated budget of ${mebibytes(budgetBytes)}. A batch of the longest sequences may run out of memory: lower the batch size, or sort sequences by length and use a token budget.`;
  } else if (predicted <= measuredMax) {
    check.message = `${prediction}, within the ${mebibytes(measuredMax)} peak of a batch that ran, so it fits.`;
  } else {
    check.message = `${prediction}, above every peak measured (at most ${mebibytes(measuredMax)}). It may still fit; run the confirmation to test it on the device.`;
  }
  return check;
}
