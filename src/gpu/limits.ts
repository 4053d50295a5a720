/**
 * Predicts, before a batch runs, whether its largest intermediate tensor fits the WebGPU buffer limits.
 * onnxruntime-web's WebGPU backend keeps each tensor in one GPU buffer, so a tensor above maxBufferSize
 * cannot be allocated. A tensor above maxStorageBufferBindingSize is bound as several segments by
 * onnxruntime-web 1.30, so that limit is checked only on request (`enforceBindingSize`).
 *
 * Measured with onnxruntime-web 1.30 on Chromium 156 (SwiftShader WebGPU, default limits of 256 MiB
 * and 128 MiB), esm2_tiny at padded length 1024: 9 sequences ran with 151 MB attention scores, and
 * 17 sequences (285 MB) failed with a maxBufferSize error.
 *
 * The largest tensors per layer, for batch B, heads H, padded length T and element size s:
 * - attention scores, B × H × T × T × s, and the softmax output of the same shape;
 * - DNABERT's combined ALiBi and padding bias, also [B, H, T, T];
 * - the feed-forward activation, B × T × ffn × s for ESM-2 and B × T × 2·ffn × s for DNABERT's gated
 *   projection;
 * - hidden states and projections, B × T × hidden (× 3 for DNABERT's fused Wqkv), always smaller.
 *
 * NOTE: this assumes the unfused graph that the app generates. If onnxruntime-web fuses attention into
 * a kernel that never stores the scores, the prediction is too strict. Buffer sizes are also rounded
 * up by onnxruntime-web's allocator (to 16 bytes at least), which is ignored here.
 */
import type { ModelConfig } from '../models/catalog';
import { largestActivationTensor, type TensorSize, type WeightDtype } from '../models/counts';
import { formatBytes, type BufferLimits } from '../models/feasibility';

export type BufferLimitName = 'maxStorageBufferBindingSize' | 'maxBufferSize';

export type LimitCheck =
  | { ok: true }
  | {
      ok: false;
      tensor: TensorSize;
      bytes: number;
      limitName: BufferLimitName;
      limitBytes: number;
      /** Names the tensor, its shape and size, the limit, and the largest batch that fits. */
      message: string;
    };

export interface LimitCheckOptions {
  /** Element type of the activations. Default float32. */
  dtype?: WeightDtype;
  /**
   * Also reject tensors above maxStorageBufferBindingSize, for a runtime that binds each tensor whole.
   * Default false, because onnxruntime-web 1.30 splits such bindings.
   */
  enforceBindingSize?: boolean;
}

/** One planned batch: the swept value and the rows and padded length that it runs with. */
export interface BatchShape {
  batchSize: number;
  sequences: number;
  paddedLength: number;
}

const BYTES_PER_ELEMENT: Record<WeightDtype, number> = { float32: 4, float16: 2 };

/**
 * Returns the largest intermediate tensor of one forward pass at `dtype`, from the candidates and shapes
 * of `largestActivationTensor`. The softmax output and DNABERT's attention bias have the shape of the
 * scores, so they tie with them and never change the result. Throws a RangeError for a batch or length
 * that is not a positive whole number.
 */
export function predictLargestTensor(config: ModelConfig, batch: number, paddedLength: number, dtype: WeightDtype = 'float32'): TensorSize {
  requirePositiveInteger('batch', batch);
  requirePositiveInteger('paddedLength', paddedLength);
  const tensor = largestActivationTensor(config, batch, paddedLength);
  const elements = tensor.dims.reduce((total, dim) => total * dim, 1);
  return { name: tensor.name, dims: tensor.dims, bytes: elements * BYTES_PER_ELEMENT[dtype] };
}

/**
 * Returns the maximum sequences per batch whose largest tensor fits the checked limits at `paddedLength`,
 * or 0 when even one sequence does not fit. Every large tensor grows in proportion to the batch, so the
 * largest one at batch 1 is the largest at every batch.
 */
export function maxSequencesWithinLimits(config: ModelConfig, paddedLength: number, limits: BufferLimits, options: LimitCheckOptions = {}): number {
  validateLimits(limits);
  const bytesPerSequence = predictLargestTensor(config, 1, paddedLength, options.dtype).bytes;
  const limitBytes = Math.min(...checkedLimits(options).map((name) => limits[name]));
  return Math.floor(limitBytes / bytesPerSequence);
}

/**
 * Checks whether a batch of `batch` sequences padded to `paddedLength` tokens fits the device's buffer
 * limits: maxBufferSize, and maxStorageBufferBindingSize when `options.enforceBindingSize` is set. A
 * failure names the smallest limit that the largest tensor exceeds. Throws a RangeError for invalid
 * sizes or limits.
 */
export function checkBatchAgainstLimits(
  config: ModelConfig,
  batch: number,
  paddedLength: number,
  limits: BufferLimits,
  options: LimitCheckOptions = {},
): LimitCheck {
  validateLimits(limits);
  const tensor = predictLargestTensor(config, batch, paddedLength, options.dtype);

  const exceeded = checkedLimits(options)
    .filter((name) => tensor.bytes > limits[name])
    .sort((a, b) => limits[a] - limits[b]);
  if (exceeded.length === 0) return { ok: true };

  const limitName = exceeded[0];
  const limitBytes = limits[limitName];
  const maxSequences = maxSequencesWithinLimits(config, paddedLength, limits, options);
  const advice =
    maxSequences === 0
      ? `Even one sequence of padded length ${paddedLength} exceeds it. Use shorter sequences or a GPU with a larger limit.`
      : `Use a batch of at most ${maxSequences} ${maxSequences === 1 ? 'sequence' : 'sequences'} at padded length ${paddedLength}.`;
  const message =
    `The ${tensor.name} tensor [${tensor.dims.join(', ')}] needs ${formatBytes(tensor.bytes)}, above ${limitName} of ` +
    `${formatBytes(limitBytes)}. ${advice}`;
  return { ok: false, tensor, bytes: tensor.bytes, limitName, limitBytes, message };
}

/**
 * Returns the largest batch size among `candidates` (sorted by batch size here) up to which every
 * candidate fits the limits, or null when the smallest does not fit.
 */
export function largestCandidateWithinLimits(
  config: ModelConfig,
  candidates: readonly BatchShape[],
  limits: BufferLimits,
  options: LimitCheckOptions = {},
): number | null {
  const sorted = [...candidates].sort((a, b) => a.batchSize - b.batchSize);
  let largest: number | null = null;
  for (const candidate of sorted) {
    if (!checkBatchAgainstLimits(config, candidate.sequences, candidate.paddedLength, limits, options).ok) break;
    largest = candidate.batchSize;
  }
  return largest;
}

function checkedLimits(options: LimitCheckOptions): BufferLimitName[] {
  return options.enforceBindingSize ? ['maxStorageBufferBindingSize', 'maxBufferSize'] : ['maxBufferSize'];
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Invalid ${name} ${String(value)}: expected a whole number ≥ 1.`);
  }
}

function validateLimits(limits: BufferLimits): void {
  for (const name of ['maxBufferSize', 'maxStorageBufferBindingSize'] as const) {
    const value = limits[name];
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`Invalid WebGPU limit ${name}: ${String(value)}. Pass the device's limits in bytes.`);
    }
  }
}

/** Picks the two buffer limits out of a device's limit record, as the environment report stores them. */
export function bufferLimitsOf(limits: Record<string, number>): BufferLimits {
  return { maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize };
}
