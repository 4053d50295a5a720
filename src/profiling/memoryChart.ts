/**
 * The memory model's predicted peaks as a series for the memory chart, next to the measured peaks.
 */
import type { BatchShape } from '../gpu/limits';
import type { PointResult } from '../report/result';
import { fitMemoryModel, memorySamplesFromPoints, predictPeakBytes, type MemoryFitOptions, type MemoryModel } from './memoryModel';

/** One predicted peak: the swept batch size and the bytes that the memory model predicts for it. */
export interface MemoryPredictionPoint {
  batchSize: number;
  peakBytes: number;
}

/**
 * Fits the memory model to the points that ran with a measured peak, and returns its predicted peak at
 * each batch shape, sorted by batch size, with one entry per batch size (the first shape given wins).
 *
 * Without `shapes`, it predicts at the shape of every point, failed points included, so that the line
 * goes on past the batch sizes that ran. The padded length of a point is paddedTokens / sequences, as
 * in memorySamplesFromPoints. `fitOptions` goes to fitMemoryModel, for example the weight bytes as
 * `fixedBytes`.
 *
 * Returns an empty series when no model can be fitted: no point ran with a measured peak (on WASM, say),
 * or no fit has non-negative coefficients. Throws a RangeError for a shape whose batchSize, sequences
 * or paddedLength is not a number ≥ 1.
 */
export function memoryPredictionSeries(
  points: readonly PointResult[],
  shapes?: readonly BatchShape[],
  fitOptions: MemoryFitOptions = {},
): MemoryPredictionPoint[] {
  const samples = memorySamplesFromPoints(points);
  if (samples.length === 0) return [];

  const targets = shapes ?? shapesOfPoints(points);
  targets.forEach(validateShape);

  let model: MemoryModel;
  try {
    model = fitMemoryModel(samples, fitOptions);
  } catch (error) {
    // fitMemoryModel throws a RangeError when no term set fits, and the chart then shows no prediction line.
    if (error instanceof RangeError) return [];
    throw error;
  }

  const byBatchSize = new Map<number, MemoryPredictionPoint>();
  for (const shape of targets) {
    if (byBatchSize.has(shape.batchSize)) continue;
    byBatchSize.set(shape.batchSize, { batchSize: shape.batchSize, peakBytes: predictPeakBytes(model, shape.sequences, shape.paddedLength) });
  }
  return [...byBatchSize.values()].sort((a, b) => a.batchSize - b.batchSize);
}

function shapesOfPoints(points: readonly PointResult[]): BatchShape[] {
  return points
    .filter((point) => point.sequences >= 1 && point.paddedTokens >= 1)
    .map((point) => ({ batchSize: point.batchSize, sequences: point.sequences, paddedLength: Math.round(point.paddedTokens / point.sequences) }));
}

function validateShape(shape: BatchShape, index: number): void {
  const { batchSize, sequences, paddedLength } = shape;
  if (!(batchSize >= 1) || !(sequences >= 1) || !(paddedLength >= 1) || ![batchSize, sequences, paddedLength].every(Number.isFinite)) {
    throw new RangeError(
      `Invalid batch shape ${index}: batchSize ${batchSize}, sequences ${sequences} and paddedLength ${paddedLength} must be numbers ≥ 1.`,
    );
  }
}
