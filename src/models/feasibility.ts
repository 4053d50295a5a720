/**
 * Checks, before any graph is built, whether a model's weights can load on a backend at all.
 */
import { MODEL_CATALOG, type ModelConfig } from './catalog';
import type { Backend } from '../report/result';
import { largestWeightTensor, parameterCount, weightBytes } from './counts';

/** The WebGPU device limits that bound a single weight tensor, in bytes. */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface FitOptions {
  backend: Backend;
  /** Limits of the WebGPU device. Without them, only the WebAssembly heap is checked. */
  limits?: BufferLimits;
}

export type FitResult = { ok: true } | { ok: false; reason: string };

/**
 * Maximum WebAssembly heap: wasm32 addresses 4 GiB. onnxruntime-web 1.30 ships only wasm32 builds, and
 * it copies every initializer into that heap on both backends, also before uploading to the GPU.
 */
export const WASM_HEAP_MAX_BYTES = 4 * 1024 ** 3;

/**
 * Formats a byte count with decimal units (kB = 1000 bytes, MB = 10⁶, GB = 10⁹) and two decimals, as in
 * "11.33 GB". Every size that this module reports uses this format.
 */
export function formatBytes(bytes: number): string {
  const magnitude = Math.abs(bytes);
  if (magnitude >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (magnitude >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (magnitude >= 1e3) return `${(bytes / 1e3).toFixed(2)} kB`;
  return `${bytes} B`;
}

/**
 * Checks whether the float32 weights of `config` can load on `options.backend`. A failure's reason gives
 * the actual and allowed sizes and names the largest built-in model of the same family that passes.
 * Throws RangeError when a limit is not a positive number.
 */
export function checkModelFits(config: ModelConfig, options: FitOptions): FitResult {
  if (options.limits !== undefined) validateLimits(options.limits);

  const failure = findFailure(config, options);
  if (failure === null) return { ok: true };
  return { ok: false, reason: `${failure} ${suggestSmallerModel(config, options)}` };
}

function validateLimits(limits: BufferLimits): void {
  for (const key of ['maxBufferSize', 'maxStorageBufferBindingSize'] as const) {
    const value = limits[key];
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`Invalid WebGPU limit ${key}: ${value}. Pass the device's limits in bytes.`);
    }
  }
}

/** Returns the reason why the weights cannot load, as a sentence, or null when nothing rules them out. */
function findFailure(config: ModelConfig, options: FitOptions): string | null {
  // NOTE: the heap also contains the runtime, the model bytes and, on the WASM backend, the activations, so a
  // model whose weights are just under this limit can still fail to load.
  const totalBytes = weightBytes(config, 'float32');
  if (totalBytes > WASM_HEAP_MAX_BYTES) {
    return (
      `${config.id} needs ${formatBytes(totalBytes)} of float32 weights, but onnxruntime-web loads weights ` +
      `through a WebAssembly heap of at most ${formatBytes(WASM_HEAP_MAX_BYTES)}.`
    );
  }

  if (options.backend !== 'webgpu' || options.limits === undefined) return null;

  const tensor = largestWeightTensor(config, 'float32');
  const { maxStorageBufferBindingSize, maxBufferSize } = options.limits;
  if (tensor.bytes > maxStorageBufferBindingSize) {
    return (
      `${config.id} has a ${formatBytes(tensor.bytes)} weight tensor (${tensor.name}), but this GPU binds ` +
      `storage buffers of at most ${formatBytes(maxStorageBufferBindingSize)} (maxStorageBufferBindingSize).`
    );
  }
  if (tensor.bytes > maxBufferSize) {
    return (
      `${config.id} has a ${formatBytes(tensor.bytes)} weight tensor (${tensor.name}), but this GPU allows ` +
      `buffers of at most ${formatBytes(maxBufferSize)} (maxBufferSize).`
    );
  }
  return null;
}

function suggestSmallerModel(config: ModelConfig, options: FitOptions): string {
  const size = parameterCount(config);
  const candidates = MODEL_CATALOG.filter(
    (candidate) =>
      candidate.family === config.family &&
      candidate.testOnly !== true &&
      parameterCount(candidate) < size &&
      findFailure(candidate, options) === null,
  );
  if (candidates.length === 0) return 'No built-in model of this family fits.';

  const best = candidates.reduce((a, b) => (parameterCount(b) > parameterCount(a) ? b : a));
  return `Pick ${best.id} or smaller.`;
}
